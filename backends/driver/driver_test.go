package driver_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/backends/driver"
	"github.com/sharestore/sharestore/backends/mem"
	"github.com/sharestore/sharestore/conformance/fixture"
)

var si = sharestore.StorageIndex{1, 2, 3}

func open(t *testing.T, opts mem.Options) *cloud.Backend {
	t.Helper()
	b, err := mem.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// A share number the listing could not read back is refused before the
// driver sees it, by every call that takes one.
func TestShnumBeyondMaxRefused(t *testing.T) {
	ctx := context.Background()
	b := open(t, mem.Options{})
	ss := b.Shareset(si)
	big := driver.MaxShnum + 1
	c := fixture.ImmutableV1([]byte("x"))
	checks := map[string]error{
		"PutRaw": ss.PutRaw(ctx, big, bytes.NewReader(c), int64(len(c))),
		"Delete": ss.DeleteShare(ctx, big, nil),
	}
	_, checks["WriteImmutable"] = ss.WriteImmutable(ctx, big, 1)
	_, checks["Share"] = ss.Share(ctx, big)
	_, _, checks["TestAndReadAndWrite"] = ss.TestAndReadAndWrite(ctx, sharestore.WriteEnabler{}, []sharestore.TestAndWrite{{Shnum: big, Writes: []sharestore.DataVector{{Data: []byte("x")}}}}, nil)
	for op, err := range checks {
		if !errors.Is(err, sharestore.ErrInvalidArgument) {
			t.Errorf("%s of share %d: %v, want ErrInvalidArgument", op, big, err)
		}
	}
	if n := len(b.Store().(*mem.Store).Keys()); n != 0 {
		t.Fatalf("%d objects stored, want none", n)
	}
}

// ParseShnum reads back every share number a backend may write, and
// nothing else.
func TestParseShnum(t *testing.T) {
	for _, n := range []int{0, 1, 9, 10, 255, driver.MaxShnum} {
		name := driver.ChunkName(n, 0)
		if got, ok := driver.ParseShnum(name); !ok || got != n {
			t.Errorf("ParseShnum(%q) = %d, %v", name, got, ok)
		}
	}
	for _, bad := range []string{"", "-1", "+1", "01", "1x", "1000000000", " 1", "１"} {
		if n, ok := driver.ParseShnum(bad); ok {
			t.Errorf("ParseShnum(%q) = %d, want refused", bad, n)
		}
	}
	ref, ok := driver.ParseChunkPath(driver.SIPath(si) + driver.ChunkName(3, 2))
	if !ok || ref.SI != si || ref.Shnum != 3 || ref.Chunk != 2 {
		t.Fatalf("ParseChunkPath: %+v, %v", ref, ok)
	}
	for _, bad := range []string{driver.SIPath(si) + "3.0", driver.SIPath(si) + "3.01", "shares/zz/" + si.String() + "/3", driver.SIPath(si) + "3/4"} {
		if ref, ok := driver.ParseChunkPath(bad); ok {
			t.Errorf("ParseChunkPath(%q) = %+v, want refused", bad, ref)
		}
	}
}

// Exactly yields size bytes and fails, naming the put, on a reader that
// is short, long or broken.
func TestExactly(t *testing.T) {
	ctx := context.Background()
	read := func(r io.Reader, size int64) ([]byte, error) {
		return io.ReadAll(driver.Exactly(ctx, r, size, "put x/0"))
	}
	if got, err := read(strings.NewReader("abcd"), 4); err != nil || string(got) != "abcd" {
		t.Fatalf("exact: %q, %v", got, err)
	}
	for name, tc := range map[string]struct {
		r    io.Reader
		size int64
		want string
	}{
		"short":  {strings.NewReader("abc"), 4, "gave 3 bytes, want 4"},
		"long":   {strings.NewReader("abcde"), 4, "more than 4 bytes"},
		"broken": {iotest.ErrReader(errors.New("disk on fire")), 4, "disk on fire"},
	} {
		_, err := read(tc.r, tc.size)
		if !errors.Is(err, sharestore.ErrInvalidArgument) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "put x/0") {
			t.Errorf("%s: %v, want ErrInvalidArgument with %q", name, err, tc.want)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := io.ReadAll(driver.Exactly(cctx, strings.NewReader("abcd"), 4, "put")); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
}

// After Close, every call fails with ErrInvalidArgument, and Close again
// is nil.
func TestUseAfterClose(t *testing.T) {
	ctx := context.Background()
	b, err := mem.New(mem.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ss := b.Shareset(si)
	errs := map[string]error{
		"ListPrefix":  b.ListPrefix(ctx, "aa", func(sharestore.ShareInfo) error { return nil }),
		"DeleteShare": ss.DeleteShare(ctx, 0, nil),
	}
	_, errs["SharesetsForPrefix"] = b.SharesetsForPrefix(ctx, "aa")
	_, errs["AvailableSpace"] = b.AvailableSpace(ctx)
	_, _, errs["Shares"] = ss.Shares(ctx)
	_, errs["WriteImmutable"] = ss.WriteImmutable(ctx, 0, 1)
	_, errs["ReadMeta"] = b.ReadMeta(ctx, "owner")
	for op, err := range errs {
		if !errors.Is(err, sharestore.ErrInvalidArgument) || !strings.Contains(err.Error(), "closed") {
			t.Errorf("%s after Close: %v, want ErrInvalidArgument saying closed", op, err)
		}
	}
}
