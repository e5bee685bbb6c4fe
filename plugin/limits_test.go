//go:build unix

package plugin_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/plugin"
	pb "github.com/sharestore/sharestore/plugin/proto/backendv1"
	"github.com/sharestore/sharestore/share"
)

// TestListing100kSharesCrossesBoundary lists 100k shares under one prefix
// through the plugin, in one ListPrefix stream.
func TestListing100kSharesCrossesBoundary(t *testing.T) {
	const sets, perSet = 50_000, 2
	raw := append(share.NewImmutableHeader(1, 10), "0123456789"...)
	// The store is kept under the temp directory between runs: creating
	// 100k files is most of this test's time.
	root := filepath.Join(os.TempDir(), "sharestore-plugin-test-listing-100k")
	if _, err := os.Stat(filepath.Join(root, ".complete")); err != nil {
		os.RemoveAll(root)
		makeListingStore(t, root, sets, perSet, raw)
	}
	b, err := plugin.Open(context.Background(), diskPlugin, plugin.Config{URL: "disk:" + root}, plugin.HostOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	start := time.Now()
	whole := &pb.ListPrefixPage{}
	n := 0
	err = b.ListPrefix(ctx, "aa", func(i sharestore.ShareInfo) error {
		if i.SI.Prefix() != "aa" || i.Size != int64(len(raw)) {
			t.Fatalf("entry %d: %+v", n, i)
		}
		n++
		whole.Shares = append(whole.Shares, &pb.ShareInfo{Si: i.SI[:], Shnum: int32(i.Shnum), Size: i.Size, UsedSpace: i.UsedSpace, ModTimeUnixNano: i.ModTime.UnixNano()})
		return nil
	})
	if err != nil || n != sets*perSet {
		t.Fatalf("ListPrefix: %d entries, %v; want %d", n, err, sets*perSet)
	}
	t.Logf("listed %d shares in %v; as one message the listing would be %d bytes", n, time.Since(start), proto.Size(whole))
	got, err := b.SharesetsForPrefix(ctx, "aa")
	if err != nil || len(got) != sets {
		t.Fatalf("SharesetsForPrefix: %d, %v; want %d", len(got), err, sets)
	}
}

// makeListingStore writes sets storage indexes of perSet shares each, all
// under prefix "aa", straight to disk.
func makeListingStore(t *testing.T, root string, sets, perSet int, raw []byte) {
	t.Helper()
	for i := 0; i < sets; i++ {
		var si sharestore.StorageIndex // si[0] = 0 and si[1] < 0x40: prefix "aa"
		binary.BigEndian.PutUint64(si[8:], uint64(i)*0x9e3779b97f4a7c15)
		binary.BigEndian.PutUint32(si[2:], uint32(i))
		s := si.String()
		dir := filepath.Join(root, "shares", s[:2], s)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for shnum := 0; shnum < perSet; shnum++ {
			if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(shnum)), raw, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(filepath.Join(root, ".complete"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestShare20MiBCrossesBoundary writes, reads and copies a 20 MiB share
// through every streaming call.
func TestShare20MiBCrossesBoundary(t *testing.T) {
	ctx := context.Background()
	b, _ := openDisk(t, plugin.HostOptions{})
	data := make([]byte, 20<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.UintN(256))
	}
	var si sharestore.StorageIndex
	si[0] = 7
	ss := b.Shareset(si)
	w, err := ss.WriteImmutable(ctx, 0, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, 0, data); err != nil {
		t.Fatalf("Write of 20 MiB: %v", err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := ss.ReadShareData(ctx, 0, 0, int64(len(data)))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadShareData: %d bytes, %v", len(got), err)
	}
	r, size, err := ss.OpenRaw(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	container, err := io.ReadAll(r)
	r.Close()
	if err != nil || int64(len(container)) != size || !bytes.Equal(container[size-int64(len(data)):], data) {
		t.Fatalf("OpenRaw: %d bytes (size %d), %v", len(container), size, err)
	}
	if err := ss.PutRaw(ctx, 1, bytes.NewReader(container), size); err != nil {
		t.Fatalf("PutRaw of %d bytes: %v", size, err)
	}
	if got, err := ss.ReadShareData(ctx, 1, 0, int64(len(data))); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadShareData of the copy: %d bytes, %v", len(got), err)
	}
}
