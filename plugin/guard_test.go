//go:build unix

package plugin_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/conformance/fixture"
	"github.com/sharestore/sharestore/plugin"
)

func readRaw(t *testing.T, ss sharestore.Shareset, shnum int) []byte {
	t.Helper()
	r, _, err := ss.OpenRaw(context.Background(), shnum)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A share rewritten in the plugin's store after the host's guard accepted
// it, and before the plugin deletes it, survives: the plugin checks under
// its own lock that the share is still the one the guard saw, and
// refuses with ErrConflict.
func TestGuardedDeleteRefusesRewriteAfterHostGuard(t *testing.T) {
	ctx := context.Background()
	b, dir := openDisk(t, plugin.HostOptions{})
	// Another writer of the plugin's store: a second host and plugin
	// process on the same directory. (The first host's own writes wait
	// for its lock, which the guard holds.)
	other, err := plugin.Open(ctx, diskPlugin, plugin.Config{URL: "disk:" + dir}, plugin.HostOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var si sharestore.StorageIndex
	si[0] = 7
	ss := b.Shareset(si)
	old := fixture.ImmutableV1([]byte("judged garbage"))
	if err := ss.PutRaw(ctx, 0, bytes.NewReader(old), int64(len(old))); err != nil {
		t.Fatal(err)
	}
	rewritten := fixture.ImmutableV1([]byte("rewritten after the guard: must stay"))
	var saw sharestore.ShareInfo
	err = ss.DeleteShare(ctx, 0, func(ctx context.Context, cur sharestore.ShareInfo) error {
		saw = cur
		// The other writer, between the guard and the delete.
		return other.Shareset(si).PutRaw(ctx, 0, bytes.NewReader(rewritten), int64(len(rewritten)))
	})
	if !errors.Is(err, sharestore.ErrConflict) {
		t.Fatalf("DeleteShare of a share rewritten after the guard: %v, want ErrConflict", err)
	}
	if saw.Size != int64(len(old)) || saw.ModTime.IsZero() {
		t.Fatalf("the host's guard saw %+v, want the judged share of %d bytes", saw, len(old))
	}
	if got := readRaw(t, ss, 0); !bytes.Equal(got, rewritten) {
		t.Fatalf("the share is now %d bytes, want the rewrite's %d", len(got), len(rewritten))
	}
	// Unchanged, it is deleted.
	if err := ss.DeleteShare(ctx, 0, func(context.Context, sharestore.ShareInfo) error { return nil }); err != nil {
		t.Fatalf("DeleteShare of an unchanged share: %v", err)
	}
	if _, _, err := ss.OpenRaw(ctx, 0); !errors.Is(err, sharestore.ErrNotFound) {
		t.Fatalf("after the delete, OpenRaw: %v, want ErrNotFound", err)
	}
}
