package cloud_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/mem"
)

// PutRaw lists the shnum's chunks once, under the SI lock, and uses that
// listing both to replace the old share and to delete its stale chunks:
// one LIST per share copied, whatever it replaces.
func TestPutRawListsOnce(t *testing.T) {
	ctx := context.Background()
	b, err := mem.New(mem.Options{ChunkSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	si, _ := sharestore.ParseStorageIndex("aaaaaaaaaaaaaaaaaaaaaaaaaa")
	ss := b.Shareset(si)
	for _, c := range []struct {
		what                string
		size                int
		puts, deletes, gets int64
	}{
		{"a new one-chunk share", 5, 1, 0, 0},
		{"three chunks over one", 25, 3, 1, 0},
		{"one chunk over three", 5, 1, 3, 0},
	} {
		before, _ := b.StoreRequests(ctx)
		data := bytes.Repeat([]byte{byte(c.size)}, c.size)
		if err := ss.PutRaw(ctx, 0, bytes.NewReader(data), int64(len(data))); err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		after, _ := b.StoreRequests(ctx)
		got := after.Sub(before)
		want := sharestore.StoreRequests{sharestore.StoreList: {OK: 1}, sharestore.StorePut: {OK: c.puts}}
		if c.deletes > 0 {
			want[sharestore.StoreDelete] = sharestore.OpCounts{OK: c.deletes}
		}
		if len(got.Sub(want)) != 0 {
			t.Errorf("%s: %v, want %v", c.what, got, want)
		}
		var sizes []int64
		if err := b.ListPrefix(ctx, si.Prefix(), func(i sharestore.ShareInfo) error { sizes = append(sizes, i.Size); return nil }); err != nil || len(sizes) != 1 || sizes[0] != int64(c.size) {
			t.Errorf("%s: the listing shows sizes %v (%v), want one share of %d bytes", c.what, sizes, err, c.size)
		}
		raw, err := b.Store().Get(ctx, "shares/aa/"+si.String()+"/0.1", 0, -1)
		if (c.size > 10) != (err == nil) {
			t.Errorf("%s: chunk 1 is %d bytes (%v)", c.what, len(raw), err)
		}
	}
}
