//go:build unix

package cli

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/internal/backendurl"
	"github.com/sharestore/sharestore/internal/emulators"
	"github.com/sharestore/sharestore/leasedb"
)

// Acceptance: serve --tahoe-basedir on a Tahoe node whose tahoe.cfg turns
// expiration on in cutoff-date mode crawls the node's storage directory
// and expires exactly what Tahoe would: the shares whose every lease was
// renewed before the cutoff date, and nothing else. Its /storage?t=json
// then has Tahoe's structure.
func TestServeTahoeBasedirExpiresWhatTahoeWould(t *testing.T) {
	store := sampleStore(t)
	base := t.TempDir()
	cfg := "[node]\nnickname = test\n\n[storage]\nenabled = true\nstorage_dir = " + store +
		"\nexpire.enabled = true\nexpire.mode = cutoff-date\nexpire.cutoff_date = 2009-03-18\n"
	if err := os.WriteFile(filepath.Join(base, "tahoe.cfg"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := disk.Open(store, disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	shares := seedTahoeLeases(t, b, filepath.Join(base, "sharestore-state"))
	b.Close()

	d := startDaemon(t, "--tahoe-basedir", base, "--fast")
	st := d.waitFor(t, "a complete accounting cycle", accountingDone(0))
	h := st.LeaseChecker.History[0]
	if !h.ExpirationEnabled || h.SpaceRecovered["actual-shares"] != 20 {
		_, log := d.stop(t)
		t.Fatalf("the cycle expired %d shares (expiration %v), want the 20 renewed before the cutoff: %v\n%s", h.SpaceRecovered["actual-shares"], h.ExpirationEnabled, h.SpaceRecovered, log)
	}
	b, err = disk.Open(store, disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	checkExpired(t, b, shares)
	checkTahoeJSON(t, d)
	if code, log := d.stop(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
}

// seedTahoeLeases gives every share of b a row in the lease database of
// the state directory state: the first 20 with a lease renewed last in
// 2008 (before the tests' cutoff, 2009-03-18), the others in 2010. (A
// cycle that would expire more than 10% of the shares deletes nothing,
// which Tahoe does not do; 20 is far below.) It returns the shares in
// that order.
func seedTahoeLeases(t *testing.T, b sharestore.Backend, state string) []sharestore.ShareInfo {
	t.Helper()
	ctx := context.Background()
	type known struct {
		sharestore.ShareInfo
		typ sharestore.ShareType
	}
	var shares []known
	for _, p := range sharestore.Prefixes() {
		err := b.ListPrefix(ctx, p, func(i sharestore.ShareInfo) error {
			if sh, err := b.Shareset(i.SI).Share(ctx, i.Shnum); err == nil {
				shares = append(shares, known{i, sh.Type})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(shares) < 200 {
		t.Fatalf("only %d shares to seed", len(shares))
	}
	os.MkdirAll(state, 0o755)
	db, err := leasedb.Open(ctx, filepath.Join(state, leasedbFile), leasedb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
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
	if err != nil {
		t.Fatal(err)
	}
	out := make([]sharestore.ShareInfo, len(shares))
	for i, s := range shares {
		out[i] = s.ShareInfo
	}
	return out
}

// checkExpired checks that the first 20 of shares are gone from b and
// the others are kept.
func checkExpired(t *testing.T, b sharestore.Backend, shares []sharestore.ShareInfo) {
	t.Helper()
	for i, s := range shares {
		_, err := b.Shareset(s.SI).Share(context.Background(), s.Shnum)
		gone := errors.Is(err, sharestore.ErrNotFound)
		if !gone && err != nil {
			t.Fatalf("share %s/%d: %v", s.SI, s.Shnum, err)
		}
		if gone != (i < 20) {
			t.Errorf("share %s/%d (renewed %v): gone %v", s.SI, s.Shnum, map[bool]string{true: "2008", false: "2010"}[i < 20], gone)
		}
	}
}

// checkTahoeJSON checks the daemon's /storage?t=json has Tahoe's
// structure, and its cycle 0 expired 20 shares in cutoff-date mode.
func checkTahoeJSON(t *testing.T, d *daemonProc) {
	t.Helper()
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
}

// Acceptance, in the cloud: the same node configuration with the cloud
// branch's backend = cloud.s3 and its s3.* keys and private/s3secret,
// pointed at MinIO, expires exactly the same shares in the bucket.
func TestServeTahoeBasedirS3ExpiresWhatTahoeWould(t *testing.T) {
	srv := emulators.Get(t, emulators.MinIO)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	bucket := "serve-tahoe-s3"
	direct := "s3://" + bucket + "?region=us-east-1&path_style=true&endpoint=" + srv.Endpoint
	t.Setenv("AWS_ACCESS_KEY_ID", emulators.MinIOUser)
	t.Setenv("AWS_SECRET_ACCESS_KEY", emulators.MinIOPassword)
	if code, _, errOut := run(t, "mkbucket", "--backend", direct); code != 0 {
		t.Fatalf("mkbucket: exit %d: %s", code, errOut)
	}
	if code, _, errOut := run(t, "copy", "--from", "disk:"+sampleStore(t), "--to", direct); code != 0 {
		t.Fatalf("copy into the bucket: exit %d: %s", code, errOut)
	}
	ctx := context.Background()
	b, err := backendurl.Open(ctx, direct, backendurl.Env{}, cloud.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// From here the node's own keys are the only credentials: none in
	// the environment.
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")

	base := t.TempDir()
	cfg := "[storage]\nenabled = true\nbackend = cloud.s3\ns3.bucket = " + bucket + "\ns3.url = " + srv.Endpoint +
		"\ns3.access_key_id = " + emulators.MinIOUser +
		"\nexpire.enabled = true\nexpire.mode = cutoff-date\nexpire.cutoff_date = 2009-03-18\n"
	os.MkdirAll(filepath.Join(base, "private"), 0o700)
	if err := os.WriteFile(filepath.Join(base, "tahoe.cfg"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "private", "s3secret"), []byte(emulators.MinIOPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	shares := seedTahoeLeases(t, b, filepath.Join(base, "sharestore-state"))

	d := startDaemon(t, "--tahoe-basedir", base, "--fast", "--log-level", "debug")
	st := d.waitFor(t, "a complete accounting cycle", accountingDone(0))
	if n := st.LeaseChecker.History[0].SpaceRecovered["actual-shares"]; n != 20 {
		_, log := d.stop(t)
		t.Fatalf("the cycle expired %d shares, want the 20 renewed before the cutoff\n%s", n, log)
	}
	checkExpired(t, b, shares)
	checkTahoeJSON(t, d)
	code, log := d.stop(t)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	if strings.Contains(log, emulators.MinIOPassword) {
		t.Error("the node's secret appears in the daemon's log")
	}
}
