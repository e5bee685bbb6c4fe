//go:build unix

package disk

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sharestore/sharestore"
)

func TestUsedSpaceIsBlocks(t *testing.T) {
	b, root := newBackend(t, Options{})
	id := si(t, "aeaqcaibaeaqcaibaeaqcaibae")
	writeImmutable(t, b, id, 0, strings.Repeat("z", 5000))
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(root, "shares", "ae", id.String(), "0"), &st); err != nil {
		t.Fatal(err)
	}
	var got sharestore.ShareInfo
	b.ListPrefix(context.Background(), "ae", func(i sharestore.ShareInfo) error { got = i; return nil })
	if got.UsedSpace != st.Blocks*512 || got.Size != 5012 {
		t.Fatalf("used %d size %d, blocks*512 = %d", got.UsedSpace, got.Size, st.Blocks*512)
	}
}
