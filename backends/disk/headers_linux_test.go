package disk

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/share"
)

// The disk backend's own ReadHeaders reports, for every kind of entry a
// storage directory can hold, what Share reports, and reads no more than
// a header of each share.
func TestReadHeadersMatchesShare(t *testing.T) {
	b, root := newBackend(t, Options{})
	ctx := context.Background()
	a := si(t, "aeaqcaibaeaqcaibaeaqcaibae")
	c := si(t, "afaqcaibaeaqcaibaeaqcaibae")
	gone := si(t, "agaqcaibaeaqcaibaeaqcaibae")
	file := si(t, "ahaqcaibaeaqcaibaeaqcaibae")
	writeImmutable(t, b, a, 0, strings.Repeat("a", 5000))
	writeImmutable(t, b, a, 7, "short")
	writeImmutable(t, b, c, 1, "c")
	dirA := filepath.Join(root, "shares", "ae", a.String())
	// A corrupt share, a symbolic link, a directory and a truncated
	// header where shares belong.
	if err := os.WriteFile(filepath.Join(dirA, "2"), []byte("not a share container at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dirA, "0"), filepath.Join(dirA, "3")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dirA, "4"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirA, "5"), []byte{0, 0, 0, 1, 0}, 0o644); err != nil {
		t.Fatal(err)
	}
	// A file where a storage index directory belongs.
	if err := os.MkdirAll(filepath.Join(root, "shares", "ah"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "shares", "ah", file.String()), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	var ids []sharestore.ShareID
	for _, n := range []int{0, 7, 2, 3, 4, 5, 6, -1} {
		ids = append(ids, sharestore.ShareID{SI: a, Shnum: n})
	}
	ids = append(ids, sharestore.ShareID{SI: c, Shnum: 1}, sharestore.ShareID{SI: gone, Shnum: 0}, sharestore.ShareID{SI: file, Shnum: 0})
	var mu sync.Mutex
	var reads []int
	headerReadHook = func(path string, n int) { mu.Lock(); reads = append(reads, n); mu.Unlock() }
	defer func() { headerReadHook = nil }()
	seen := map[sharestore.ShareID]int{}
	err := b.ReadHeaders(ctx, ids, func(id sharestore.ShareID, sh sharestore.Share, err error) {
		seen[id]++
		want, wantErr := b.Shareset(id.SI).Share(ctx, id.Shnum)
		switch {
		case wantErr != nil && id.SI == file:
			// Share reports the odd ENOTDIR as internal; ReadHeaders
			// says what it is: no such share.
			if !errors.Is(err, sharestore.ErrNotFound) {
				t.Errorf("%v: %v, want not found", id, err)
			}
		case wantErr != nil:
			if sharestore.CodeOf(err) != sharestore.CodeOf(wantErr) {
				t.Errorf("%v: error %v, Share's %v", id, err, wantErr)
			}
		case err != nil:
			t.Errorf("%v: %v, Share found %+v", id, err, want)
		case sh != want:
			t.Errorf("%v: %+v, Share %+v", id, sh, want)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("%v reported %d times", id, seen[id])
		}
	}
	for _, n := range reads {
		if n > share.HeaderReadSize {
			t.Errorf("read %d bytes of a share", n)
		}
	}
	// Every result kind is covered.
	codes := map[sharestore.Code]bool{}
	b.ReadHeaders(ctx, ids, func(id sharestore.ShareID, sh sharestore.Share, err error) { codes[sharestore.CodeOf(err)] = true })
	for _, c := range []sharestore.Code{0, sharestore.ErrNotFound, sharestore.ErrCorrupt, sharestore.ErrInvalidArgument} {
		if !codes[c] {
			t.Errorf("no result with code %v", c)
		}
	}
	// A canceled context and a closed backend end the call.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := b.ReadHeaders(cctx, ids, func(sharestore.ShareID, sharestore.Share, error) {}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
	b.Close()
	if err := b.ReadHeaders(ctx, ids, func(sharestore.ShareID, sharestore.Share, error) {}); err == nil {
		t.Error("closed backend: no error")
	}
}
