//go:build unix

package disk

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sharestore/sharestore"
)

// plantPut leaves a PutRaw temporary file for shnum, as a PutRaw killed
// mid-share does, and returns its path.
func plantPut(t *testing.T, root string, id sharestore.StorageIndex, name string) string {
	t.Helper()
	s := id.String()
	p := filepath.Join(root, "shares", "incoming", s[:2], s, name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte("half a share"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// holdPut flocks the file at p as a live PutRaw does, until the test
// ends.
func holdPut(t *testing.T, p string) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
}

// A PutRaw rerun after one was killed mid-share: the dead leftover of
// that share goes and the put succeeds; a live writer's file, another
// share's leftover and Tahoe's own incoming file stay.
func TestPutRawResumesAfterKill(t *testing.T) {
	b, root := newBackend(t, Options{})
	ctx := context.Background()
	id := si(t, "aeaqcaibaeaqcaibaeaqcaibae")
	dead := plantPut(t, root, id, "0.put-0123456789abcdef")
	live := plantPut(t, root, id, "0.put-00000000000000aa")
	holdPut(t, live)
	other := plantPut(t, root, id, "1.put-0123456789abcdef")
	tahoe := plantPut(t, root, id, "0")

	if err := b.Shareset(id).PutRaw(ctx, 0, strings.NewReader("new share"), 9); err != nil {
		t.Fatalf("PutRaw after a killed one: %v", err)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("dead leftover %s kept: %v", dead, err)
	}
	for _, p := range []string{live, other, tahoe} {
		if b, err := os.ReadFile(p); err != nil || string(b) != "half a share" {
			t.Errorf("%s touched: %q %v", p, b, err)
		}
	}
	got, _ := os.ReadFile(filepath.Join(root, "shares", "ae", id.String(), "0"))
	if string(got) != "new share" {
		t.Fatalf("share %q", got)
	}
	// Its own temporary file is gone.
	names, _ := os.ReadDir(filepath.Dir(dead))
	if len(names) != 3 {
		t.Errorf("incoming holds %d files, want the 3 kept", len(names))
	}
}

// CleanIncoming removes dead PutRaw leftovers at any age, and keeps
// live ones and young Tahoe uploads.
func TestCleanIncomingRemovesDeadPuts(t *testing.T) {
	b, root := newBackend(t, Options{})
	ctx := context.Background()
	id := si(t, "aeaqcaibaeaqcaibaeaqcaibae")
	dead := plantPut(t, root, id, "3.put-0123456789abcdef")
	live := plantPut(t, root, id, "4.put-0123456789abcdef")
	holdPut(t, live)
	tahoe := plantPut(t, root, id, "5")
	removed, err := b.CleanIncoming(ctx, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || len(removed) != 1 || removed[0] != dead {
		t.Fatalf("removed %v, %v; want only %s", removed, err, dead)
	}
	for _, p := range []string{live, tahoe} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
}

func TestParsePutName(t *testing.T) {
	for name, want := range map[string]int{"0.put-ab": 0, "17.put-0123456789abcdef": 17} {
		if n, ok := parsePutName(name); !ok || n != want {
			t.Errorf("%q: %d %v", name, n, ok)
		}
	}
	for _, name := range []string{"0", "0.put-", "0.put-xyz", "01.put-ab", "a.put-ab", ".put-ab", "0.tmp"} {
		if _, ok := parsePutName(name); ok {
			t.Errorf("%q parsed", name)
		}
	}
}

// Writers in one prefix, side by side: every upload that ends removes
// the incoming prefix directory it leaves empty, and no writer may fail
// because another one's end unlinked the directory it had just opened
// or created. Without the retry on a vanished directory this fails with
// "mkdir: no such file or directory".
func TestWritersInOnePrefixSurviveEachOthersCleanup(t *testing.T) {
	b, root := newBackend(t, Options{})
	ctx := context.Background()
	const writers, each = 16, 250
	errs := make(chan error, writers*each)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				var raw [16]byte
				raw[0] = 0x17 // base32 "c4..": every SI in one prefix
				binary.BigEndian.PutUint32(raw[4:], uint32(g*each+i))
				id := sharestore.StorageIndex(raw)
				if i%2 == 0 {
					errs <- b.Shareset(id).PutRaw(ctx, 0, strings.NewReader("raw share"), 9)
					continue
				}
				w, err := b.Shareset(id).WriteImmutable(ctx, 0, 4)
				if err == nil {
					if err = w.Write(ctx, 0, []byte("data")); err == nil {
						err = w.Close(ctx)
					}
				}
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if err != nil {
			if failed++; failed <= 3 {
				t.Error(err)
			}
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d writes failed", failed, writers*each)
	}
	prefixes, _ := os.ReadDir(filepath.Join(root, "shares"))
	var sis int
	for _, p := range prefixes {
		if p.Name() == "incoming" {
			continue
		}
		d, _ := os.ReadDir(filepath.Join(root, "shares", p.Name()))
		sis += len(d)
	}
	if sis != writers*each {
		t.Fatalf("%d storage index directories, want %d", sis, writers*each)
	}
}
