//go:build unix

package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/leasedb"
)

// Acceptance: serve --tahoe-basedir on a Tahoe node whose tahoe.cfg turns
// expiration on in cutoff-date mode crawls the node's storage directory
// and expires exactly what Tahoe would: the shares whose every lease was
// renewed before the cutoff date, and nothing else. Its /storage?t=json
// then has Tahoe's structure.
func TestServeTahoeBasedirExpiresWhatTahoeWould(t *testing.T) {
	ctx := context.Background()
	store := sampleStore(t)
	base := t.TempDir()
	cfg := "[node]\nnickname = test\n\n[storage]\nenabled = true\nstorage_dir = " + store +
		"\nexpire.enabled = true\nexpire.mode = cutoff-date\nexpire.cutoff_date = 2009-03-18\n"
	if err := os.WriteFile(filepath.Join(base, "tahoe.cfg"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// The leasedb of the node's state directory knows every share: 20
	// renewed last in 2008 (before the cutoff), the others in 2010. (A
	// cycle that would expire more than 10% of the shares deletes
	// nothing, which Tahoe does not do.)
	type known struct {
		sharestore.ShareInfo
		typ sharestore.ShareType
	}
	var shares []known
	b, err := disk.Open(store, disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range sharestore.Prefixes() {
		b.ListPrefix(ctx, p, func(i sharestore.ShareInfo) error {
			if sh, err := b.Shareset(i.SI).Share(ctx, i.Shnum); err == nil {
				shares = append(shares, known{i, sh.Type})
			}
			return nil
		})
	}
	b.Close()
	state := filepath.Join(base, "sharestore-state")
	os.MkdirAll(state, 0o755)
	db, err := leasedb.Open(ctx, filepath.Join(state, leasedbFile), leasedb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	old, recent := time.Date(2008, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(2010, 6, 1, 0, 0, 0, 0, time.UTC)
	err = db.Update(ctx, func(tx *leasedb.Tx) error {
		for i, s := range shares {
			if err := tx.AddDiscoveredShare(ctx, s.SI, s.Shnum, s.UsedSpace, s.typ); err != nil {
				return err
			}
			renewed := old
			if i >= 20 {
				renewed = recent
			}
			if err := tx.AddStarterLease(ctx, s.SI, s.Shnum, renewed); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	d := startDaemon(t, "--tahoe-basedir", base, "--fast")
	st := d.waitFor(t, "a complete accounting cycle", accountingDone(0))
	h := st.LeaseChecker.History[0]
	if !h.ExpirationEnabled || h.SpaceRecovered["actual-shares"] != 20 {
		_, log := d.stop(t)
		t.Fatalf("the cycle expired %d shares (expiration %v), want the 20 renewed before the cutoff: %v\n%s", h.SpaceRecovered["actual-shares"], h.ExpirationEnabled, h.SpaceRecovered, log)
	}
	for i, s := range shares {
		p := filepath.Join(store, "shares", s.SI.String()[:2], s.SI.String(), itoa(s.Shnum))
		_, err := os.Stat(p)
		if gone := os.IsNotExist(err); gone != (i < 20) {
			t.Errorf("share %s/%d (renewed %v): gone %v", s.SI, s.Shnum, map[bool]string{true: "2008", false: "2010"}[i < 20], gone)
		}
	}
	resp, err := http.Get(d.url + "/storage?t=json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var tahoe struct {
		BucketCounter map[string]json.RawMessage `json:"bucket-counter"`
		LeaseChecker  struct {
			History map[string]struct {
				Mode           []any            `json:"configured-expiration-mode"`
				SpaceRecovered map[string]int64 `json:"space-recovered"`
			} `json:"history"`
		} `json:"lease-checker"`
		Progress map[string]json.RawMessage `json:"lease-checker-progress"`
	}
	if err := json.Unmarshal(body, &tahoe); err != nil {
		t.Fatal(err)
	}
	h0, ok := tahoe.LeaseChecker.History["0"]
	if !ok || len(tahoe.BucketCounter) == 0 || len(tahoe.Progress) == 0 || len(h0.Mode) != 4 || h0.Mode[0] != "cutoff-date" || h0.SpaceRecovered["actual-shares"] != 20 {
		t.Fatalf("/storage?t=json is not Tahoe's structure:\n%s", body)
	}
	if code, log := d.stop(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
}
