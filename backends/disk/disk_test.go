package disk

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/share"
)

func si(t *testing.T, s string) sharestore.StorageIndex {
	t.Helper()
	v, err := sharestore.ParseStorageIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func newBackend(t *testing.T, opts Options) (*Backend, string) {
	t.Helper()
	root := t.TempDir()
	opts.Create = true
	b, err := Open(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, root
}

func writeImmutable(t *testing.T, b *Backend, id sharestore.StorageIndex, shnum int, data string) {
	t.Helper()
	ctx := context.Background()
	w, err := b.Shareset(id).WriteImmutable(ctx, shnum, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, 0, []byte(data)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing"), Options{}); !errors.Is(err, sharestore.ErrNotFound) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing: %v", err)
	}
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := Open(file, Options{}); !errors.Is(err, sharestore.ErrInvalidArgument) || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file: %v", err)
	}
	if _, err := Open(dir, Options{}); !errors.Is(err, sharestore.ErrNotFound) || !strings.Contains(err.Error(), "no shares/ folder") {
		t.Errorf("no shares: %v", err)
	}
	os.MkdirAll(filepath.Join(dir, "storage", "shares"), 0o755)
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "did you mean "+filepath.Join(dir, "storage")) {
		t.Errorf("hint: %v", err)
	}
	if _, err := Open(filepath.Join(dir, "storage"), Options{}); err != nil {
		t.Errorf("storage dir: %v", err)
	}
	if _, err := Open(dir, Options{ContainerVersion: 3}); !errors.Is(err, sharestore.ErrInvalidArgument) {
		t.Errorf("version: %v", err)
	}
}

// Scenario 28 and the layout: an upload lives in incoming/ until Close,
// then the incoming SI and prefix directories go and incoming/ stays.
func TestImmutableLayout(t *testing.T) {
	b, root := newBackend(t, Options{})
	ctx := context.Background()
	id := si(t, "aeaqcaibaeaqcaibaeaqcaibae")
	w, err := b.Shareset(id).WriteImmutable(ctx, 3, 10)
	if err != nil {
		t.Fatal(err)
	}
	inc := filepath.Join(root, "shares", "incoming", "ae", id.String(), "3")
	if _, err := os.Stat(inc); err != nil {
		t.Fatalf("incoming file: %v", err)
	}
	if err := w.Write(ctx, 0, []byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	final := filepath.Join(root, "shares", "ae", id.String(), "3")
	if _, err := os.Stat(final); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("visible before close: %v", err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(final)
	want := append(share.NewImmutableHeader(1, 10), "0123456789"...)
	if !bytes.Equal(got, want) {
		t.Fatalf("container %x", got)
	}
	if _, err := os.Stat(filepath.Join(root, "shares", "incoming", "ae")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("incoming prefix dir kept: %v", err)
	}
	if st, err := os.Stat(filepath.Join(root, "shares", "incoming")); err != nil || !st.IsDir() {
		t.Fatalf("incoming/ removed: %v", err)
	}
	// Disk header length field is min(A, 2^32-1) (scenario 3).
	w, _ = b.Shareset(id).WriteImmutable(ctx, 4, 1<<33)
	w.Write(ctx, 1<<32, []byte("x")) // sparse, as Tahoe's test_large_share
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	h, _ := os.Open(filepath.Join(root, "shares", "ae", id.String(), "4"))
	head := make([]byte, 12)
	h.Read(head)
	h.Close()
	if !bytes.Equal(head, []byte{0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}) {
		t.Fatalf("header %x", head)
	}
	d, err := b.Shareset(id).ReadShareData(ctx, 4, 1<<32, 5)
	if err != nil || string(d) != "x" {
		t.Fatalf("sparse read %q %v", d, err)
	}
}

func TestNeverRemovesIncomingOnOpenOrList(t *testing.T) {
	b, root := newBackend(t, Options{})
	ctx := context.Background()
	left := filepath.Join(root, "shares", "incoming", "aa", strings.Repeat("a", 26), "0")
	os.MkdirAll(filepath.Dir(left), 0o755)
	os.WriteFile(left, []byte("partial"), 0o644)
	b2, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range sharestore.Prefixes() {
		if err := b2.ListPrefix(ctx, p, func(sharestore.ShareInfo) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(left); err != nil {
		t.Fatalf("leftover removed by open/list: %v", err)
	}
	// A leftover blocks a new upload of that share, with a helpful error.
	_, err = b.Shareset(si(t, strings.Repeat("a", 26))).WriteImmutable(ctx, 0, 5)
	if !errors.Is(err, sharestore.ErrConflict) || !strings.Contains(err.Error(), "clean-incoming") {
		t.Fatalf("leftover conflict: %v", err)
	}
	// CleanIncoming removes only old leftovers.
	removed, err := b.CleanIncoming(ctx, time.Now().Add(-time.Hour))
	if err != nil || len(removed) != 0 {
		t.Fatalf("young leftover removed: %v %v", removed, err)
	}
	removed, err = b.CleanIncoming(ctx, time.Now().Add(time.Hour))
	if err != nil || len(removed) != 1 || removed[0] != left {
		t.Fatalf("clean: %v %v", removed, err)
	}
	if _, err := os.Stat(filepath.Join(root, "shares", "incoming")); err != nil {
		t.Fatal("incoming/ itself removed")
	}
}

func TestCleanIncomingSparesActiveUploads(t *testing.T) {
	b, _ := newBackend(t, Options{})
	ctx := context.Background()
	w, err := b.Shareset(si(t, strings.Repeat("b", 25)+"a")).WriteImmutable(ctx, 1, 5)
	if err != nil {
		t.Fatal(err)
	}
	removed, err := b.CleanIncoming(ctx, time.Now().Add(time.Hour))
	if err != nil || len(removed) != 0 {
		t.Fatalf("active upload removed: %v %v", removed, err)
	}
	w.Write(ctx, 0, []byte("abcde"))
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestAvailableSpaceAndReadOnly(t *testing.T) {
	b, root := newBackend(t, Options{})
	ctx := context.Background()
	free, err := b.AvailableSpace(ctx)
	if err != nil || free <= 0 {
		t.Fatalf("free %d %v", free, err)
	}
	b2, _ := Open(root, Options{ReservedSpace: free / 2})
	free2, _ := b2.AvailableSpace(ctx)
	if free2 > free-free/2+1<<20 || free2 < free-free/2-1<<20 {
		t.Fatalf("reserved not subtracted: %d vs %d", free2, free)
	}
	b3, _ := Open(root, Options{ReservedSpace: 1 << 62})
	if v, _ := b3.AvailableSpace(ctx); v != 0 {
		t.Fatalf("over-reserved: %d", v)
	}
	id := si(t, "aeaqcaibaeaqcaibaeaqcaibae")
	writeImmutable(t, b, id, 0, "hello")
	ro, _ := Open(root, Options{ReadOnly: true})
	if v, _ := ro.AvailableSpace(ctx); v != 0 {
		t.Fatalf("read-only avail %d", v)
	}
	if !ro.Capabilities().ReadOnly {
		t.Fatal("caps")
	}
	ss := ro.Shareset(id)
	if _, err := ss.WriteImmutable(ctx, 1, 5); !errors.Is(err, sharestore.ErrPermissionDenied) {
		t.Errorf("write: %v", err)
	}
	if err := ss.DeleteShare(ctx, 0, nil); !errors.Is(err, sharestore.ErrPermissionDenied) {
		t.Errorf("delete: %v", err)
	}
	if err := ss.PutRaw(ctx, 1, strings.NewReader("x"), 1); !errors.Is(err, sharestore.ErrPermissionDenied) {
		t.Errorf("put: %v", err)
	}
	if _, _, err := ss.TestAndReadAndWrite(ctx, sharestore.WriteEnabler{}, []sharestore.TestAndWrite{{Shnum: 3}}, nil); !errors.Is(err, sharestore.ErrPermissionDenied) {
		t.Errorf("slot write: %v", err)
	}
	if d, err := ss.ReadShareData(ctx, 0, 0, 10); err != nil || string(d) != "hello" {
		t.Errorf("read-only read: %q %v", d, err)
	}
	if _, err := os.Stat(filepath.Join(root, "shares", "ae", id.String(), "0")); err != nil {
		t.Fatal("read-only backend removed a share")
	}
}

func TestListPrefixOpensNoShare(t *testing.T) {
	b, _ := newBackend(t, Options{})
	ctx := context.Background()
	id := si(t, "aeaqcaibaeaqcaibaeaqcaibae")
	for n := 0; n < 3; n++ {
		writeImmutable(t, b, id, n, strings.Repeat("q", 1000))
	}
	var reads []int
	headerReadHook = func(path string, n int) { reads = append(reads, n) }
	defer func() { headerReadHook = nil }()
	count := 0
	if err := b.ListPrefix(ctx, "ae", func(sharestore.ShareInfo) error { count++; return nil }); err != nil || count != 3 {
		t.Fatalf("list %d %v", count, err)
	}
	if len(reads) != 0 {
		t.Fatalf("ListPrefix read %d headers", len(reads))
	}
	shares, _, err := b.Shareset(id).Shares(ctx)
	if err != nil || len(shares) != 3 {
		t.Fatal(err)
	}
	for _, n := range reads {
		if n > share.HeaderReadSize {
			t.Fatalf("Shares read %d bytes of a share", n)
		}
	}
	if len(reads) != 3 {
		t.Fatalf("Shares read %d headers, want 3", len(reads))
	}
}

func TestIgnoresStrayNames(t *testing.T) {
	b, root := newBackend(t, Options{})
	ctx := context.Background()
	id := si(t, "aeaqcaibaeaqcaibaeaqcaibae")
	writeImmutable(t, b, id, 1, "one")
	dir := filepath.Join(root, "shares", "ae", id.String())
	for _, n := range []string{"not-a-share", "ignore_me.txt", "01", "-1", "1.tmp", "+2"} {
		os.WriteFile(filepath.Join(dir, n), []byte("junk"), 0o644)
	}
	os.Mkdir(filepath.Join(dir, "7"), 0o755)                                         // a directory named like a share
	os.MkdirAll(filepath.Join(root, "shares", "ae", "notansi"), 0o755)               // stray dir in a prefix
	os.MkdirAll(filepath.Join(root, "shares", "ae", strings.Repeat("a", 26)), 0o755) // SI in the wrong prefix
	var got []int
	b.ListPrefix(ctx, "ae", func(i sharestore.ShareInfo) error { got = append(got, i.Shnum); return nil })
	if len(got) != 1 || got[0] != 1 {
		t.Fatalf("listed %v", got)
	}
	sis, _ := b.SharesetsForPrefix(ctx, "ae")
	if len(sis) != 1 || sis[0] != id {
		t.Fatalf("sharesets %v", sis)
	}
	// deleting the real share leaves the stray files alone
	if err := b.Shareset(id).DeleteShare(ctx, 1, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "not-a-share")); err != nil {
		t.Fatal("stray file removed")
	}
}

func TestDeleteRemovesEmptySIDir(t *testing.T) {
	b, root := newBackend(t, Options{})
	ctx := context.Background()
	id := si(t, "aeaqcaibaeaqcaibaeaqcaibae")
	writeImmutable(t, b, id, 1, "one")
	writeImmutable(t, b, id, 10, "ten")
	ss := b.Shareset(id)
	if err := ss.DeleteShare(ctx, 1, nil); err != nil {
		t.Fatal(err)
	}
	if d, err := ss.ReadShareData(ctx, 10, 0, 3); err != nil || string(d) != "ten" {
		t.Fatal("share 10 touched")
	}
	if err := ss.DeleteShare(ctx, 1, nil); err != nil {
		t.Fatalf("idempotent: %v", err)
	}
	if err := ss.DeleteShare(ctx, 10, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "shares", "ae", id.String())); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("empty SI dir kept")
	}
	if _, err := os.Stat(filepath.Join(root, "shares", "ae")); err != nil {
		t.Fatal("prefix dir removed")
	}
}

func TestNoPathEscapes(t *testing.T) {
	b, _ := newBackend(t, Options{})
	ctx := context.Background()
	for _, p := range []sharestore.Prefix{"..", "../", "/", "a/", ".", "incoming", "aaa"} {
		if err := b.ListPrefix(ctx, p, func(sharestore.ShareInfo) error { return nil }); !errors.Is(err, sharestore.ErrInvalidArgument) {
			t.Errorf("ListPrefix(%q): %v", p, err)
		}
		if _, err := b.SharesetsForPrefix(ctx, p); !errors.Is(err, sharestore.ErrInvalidArgument) {
			t.Errorf("SharesetsForPrefix(%q): %v", p, err)
		}
	}
	ss := b.Shareset(si(t, "aeaqcaibaeaqcaibaeaqcaibae"))
	if err := ss.DeleteShare(ctx, -1, nil); !errors.Is(err, sharestore.ErrInvalidArgument) {
		t.Errorf("negative shnum: %v", err)
	}
	if _, err := ss.ReadShareData(ctx, -5, 0, 1); !errors.Is(err, sharestore.ErrInvalidArgument) {
		t.Errorf("negative shnum read: %v", err)
	}
}

func TestConcurrentUploadsOfOneShare(t *testing.T) {
	b, _ := newBackend(t, Options{})
	ctx := context.Background()
	ss := b.Shareset(si(t, "aeaqcaibaeaqcaibaeaqcaibae"))
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := ss.WriteImmutable(ctx, 0, 3)
			mu.Lock()
			defer mu.Unlock()
			if errors.Is(err, sharestore.ErrConflict) {
				conflicts++
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			wins++
			mu.Unlock()
			w.Write(ctx, 0, []byte("abc"))
			err = w.Close(ctx)
			mu.Lock()
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins < 1 || wins+conflicts != 8 {
		t.Fatalf("wins %d conflicts %d", wins, conflicts)
	}
	r, size, err := ss.OpenRaw(ctx, 0)
	if err != nil || size != 15 {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(r)
	r.Close()
	if string(raw[12:]) != "abc" {
		t.Fatalf("raw %q", raw)
	}
}
