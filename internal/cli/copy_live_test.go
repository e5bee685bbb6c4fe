package cli

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/conformance/fixture"
)

// liveSource wraps a real backend and calls before (if set) just before
// every OpenRaw of a share and after (if set) just after it, with the
// share's ID and the attempt number (1 for the first open of that share):
// a live store whose shares are collected or rewritten while a copy runs.
// The copy's transfers call it at once; it calls before and after under
// its lock.
type liveSource struct {
	sharestore.Backend
	before, after func(id sharestore.ShareID, attempt int)
	mu            sync.Mutex
	opens         map[sharestore.ShareID]int
}

func (l *liveSource) Shareset(si sharestore.StorageIndex) sharestore.Shareset {
	return liveShareset{Shareset: l.Backend.Shareset(si), l: l}
}

type liveShareset struct {
	sharestore.Shareset
	l *liveSource
}

func (s liveShareset) OpenRaw(ctx context.Context, shnum int) (io.ReadCloser, int64, error) {
	id := sharestore.ShareID{SI: s.StorageIndex(), Shnum: shnum}
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	if s.l.opens == nil {
		s.l.opens = map[sharestore.ShareID]int{}
	}
	s.l.opens[id]++
	if s.l.before != nil {
		s.l.before(id, s.l.opens[id])
	}
	rc, size, err := s.Shareset.OpenRaw(ctx, shnum)
	if err == nil && s.l.after != nil {
		s.l.after(id, s.l.opens[id])
	}
	return rc, size, err
}

// withSource makes every copy run through Main see its source through
// wrap, until the test ends.
func withSource(t *testing.T, wrap func(sharestore.Backend) sharestore.Backend) {
	t.Helper()
	copySourceHook = wrap
	t.Cleanup(func() { copySourceHook = nil })
}

// copyStore builds a disk store with n small immutable shares, each in
// its own storage index, and returns its root and the share IDs.
func copyStore(t *testing.T, n int) (string, []sharestore.ShareID) {
	t.Helper()
	root := t.TempDir()
	b, err := disk.Open(root, disk.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rng := rand.New(rand.NewPCG(7, uint64(n)))
	var ids []sharestore.ShareID
	for i := 0; i < n; i++ {
		var si sharestore.StorageIndex
		for j := range si {
			si[j] = byte(rng.UintN(256))
		}
		data := make([]byte, 100+i)
		for j := range data {
			data[j] = byte(rng.UintN(256))
		}
		c := fixture.ImmutableV1(data)
		if err := b.Shareset(si).PutRaw(context.Background(), i%3, bytes.NewReader(c), int64(len(c))); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sharestore.ShareID{SI: si, Shnum: i % 3})
	}
	return root, ids
}

func sharePath(root string, id sharestore.ShareID) string {
	s := id.SI.String()
	return filepath.Join(root, "shares", s[:2], s, itoa(id.Shnum))
}

// lsJSON returns ls --json of a disk store.
func lsJSON(t *testing.T, root string) string {
	t.Helper()
	code, out, errOut := run(t, "ls", "--backend", "disk:"+root, "--json")
	if code != 0 {
		t.Fatalf("ls %s: exit %d: %s", root, code, errOut)
	}
	return out
}

// A share collected at the source between the listing and its read is
// reported by name and skipped; the copy finishes every other share and
// exits 0, and the destination then lists exactly as the source does.
func TestCopyVanishedAtSource(t *testing.T) {
	src, ids := copyStore(t, 6)
	gone := ids[2]
	withSource(t, func(b sharestore.Backend) sharestore.Backend {
		return &liveSource{Backend: b, before: func(id sharestore.ShareID, _ int) {
			if id == gone {
				if err := b.Shareset(id.SI).DeleteShare(context.Background(), id.Shnum, nil); err != nil {
					t.Errorf("delete %s at the source: %v", id, err)
				}
			}
		}}
	})
	dst := filepath.Join(t.TempDir(), "dst")
	code, out, errOut := run(t, "copy", "--from", "disk:"+src, "--to", "disk:"+dst)
	if code != 0 {
		t.Fatalf("copy: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	want := "vanished at source: " + gone.SI.String() + " shnum " + itoa(gone.Shnum)
	if !strings.Contains(errOut, want) {
		t.Fatalf("stderr does not name the vanished share (%q):\n%s", want, errOut)
	}
	if !strings.Contains(out, "copied 5 shares") || !strings.Contains(out, "1 shares vanished at the source") {
		t.Fatalf("report: %q", out)
	}
	if got, want := lsJSON(t, dst), lsJSON(t, src); got != want {
		t.Fatalf("destination differs from the source:\n%s\nwant\n%s", got, want)
	}
}

// A rerun whose source loses a share that the destination already holds
// (the skip check reads the source first) reports it and goes on too.
func TestCopyVanishedAtSourceOnRerun(t *testing.T) {
	src, ids := copyStore(t, 4)
	dst := filepath.Join(t.TempDir(), "dst")
	if code, out, errOut := run(t, "copy", "--from", "disk:"+src, "--to", "disk:"+dst); code != 0 {
		t.Fatalf("first copy: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	gone := ids[1]
	withSource(t, func(b sharestore.Backend) sharestore.Backend {
		return &liveSource{Backend: b, before: func(id sharestore.ShareID, _ int) {
			if id == gone {
				b.Shareset(id.SI).DeleteShare(context.Background(), id.Shnum, nil)
			}
		}}
	})
	code, out, errOut := run(t, "copy", "--from", "disk:"+src, "--to", "disk:"+dst)
	if code != 0 || !strings.Contains(errOut, "vanished at source: "+gone.SI.String()) || !strings.Contains(out, "skipped 3 already present") {
		t.Fatalf("rerun: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
}

// rewriteInPlace replaces the contents of a share file through its own
// inode, as Tahoe does when it adds a lease or writes a mutable slot, so a
// reader that already has it open sees the new length.
func rewriteInPlace(t *testing.T, path string, c []byte) {
	t.Helper()
	if err := os.WriteFile(path, c, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A share whose size changes at the source while it is read is copied
// again, and the destination gets the new contents.
func TestCopyChangedAtSourceOnce(t *testing.T) {
	src, ids := copyStore(t, 3)
	hot := ids[0]
	grown := fixture.ImmutableV1(bytes.Repeat([]byte("new contents "), 50))
	withSource(t, func(b sharestore.Backend) sharestore.Backend {
		return &liveSource{Backend: b, after: func(id sharestore.ShareID, attempt int) {
			if id == hot && attempt == 1 {
				rewriteInPlace(t, sharePath(src, id), grown)
			}
		}}
	})
	dst := filepath.Join(t.TempDir(), "dst")
	code, out, errOut := run(t, "copy", "--from", "disk:"+src, "--to", "disk:"+dst)
	if code != 0 || !strings.Contains(out, "copied 3 shares") {
		t.Fatalf("copy: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	if !strings.Contains(errOut, "changed at source while being read: "+hot.SI.String()+" shnum "+itoa(hot.Shnum)+"; copying it again") {
		t.Fatalf("the retry is not reported:\n%s", errOut)
	}
	got, err := os.ReadFile(sharePath(dst, hot))
	if err != nil || !bytes.Equal(got, grown) {
		t.Fatalf("destination holds %d bytes (%v), want the %d rewritten ones", len(got), err, len(grown))
	}
	if got, want := lsJSON(t, dst), lsJSON(t, src); got != want {
		t.Fatalf("destination differs from the source:\n%s\nwant\n%s", got, want)
	}
}

// A share that changes on both attempts is reported and not copied; every
// other share is, and the run exits 1 saying that a rerun copies it.
func TestCopyChangedAtSourceTwice(t *testing.T) {
	src, ids := copyStore(t, 3)
	hot := ids[1]
	withSource(t, func(b sharestore.Backend) sharestore.Backend {
		return &liveSource{Backend: b, after: func(id sharestore.ShareID, attempt int) {
			if id == hot {
				// Shrink it by one byte each time it is opened.
				c, err := os.ReadFile(sharePath(src, id))
				if err != nil {
					t.Fatal(err)
				}
				rewriteInPlace(t, sharePath(src, id), c[:len(c)-1])
			}
		}}
	})
	dst := filepath.Join(t.TempDir(), "dst")
	code, out, errOut := run(t, "copy", "--from", "disk:"+src, "--to", "disk:"+dst)
	if code != 1 || !strings.Contains(out, "copied 2 shares") || !strings.Contains(errOut, "rerun the same copy") {
		t.Fatalf("copy: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	if !strings.Contains(errOut, "changed at source while being read, twice: "+hot.SI.String()+" shnum "+itoa(hot.Shnum)) {
		t.Fatalf("the skipped share is not named:\n%s", errOut)
	}
	if _, err := os.Stat(sharePath(dst, hot)); !os.IsNotExist(err) {
		t.Fatalf("a torn copy of the changing share was stored: %v", err)
	}
	// Once the source is quiet, a rerun completes the copy.
	copySourceHook = nil
	code, out, errOut = run(t, "copy", "--from", "disk:"+src, "--to", "disk:"+dst)
	if code != 0 || !strings.Contains(out, "copied 1 shares") {
		t.Fatalf("rerun: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	if got, want := lsJSON(t, dst), lsJSON(t, src); got != want {
		t.Fatalf("destination differs from the source:\n%s\nwant\n%s", got, want)
	}
}
