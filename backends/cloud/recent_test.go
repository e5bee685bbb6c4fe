package cloud_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/backends/mem"
)

// testClock is a settable clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// headerRequests reads id's header through sharestore.ReadHeaders and
// returns what it got and the requests it took.
func headerRequests(t *testing.T, b *cloud.Backend, id sharestore.ShareID) (sharestore.Share, error, sharestore.StoreRequests) {
	t.Helper()
	ctx := context.Background()
	before, _ := b.StoreRequests(ctx)
	var sh sharestore.Share
	var got error
	if err := sharestore.ReadHeaders(ctx, b, []sharestore.ShareID{id}, 1, func(_ sharestore.ShareID, s sharestore.Share, err error) {
		sh, got = s, err
	}); err != nil {
		t.Fatal(err)
	}
	after, _ := b.StoreRequests(ctx)
	return sh, got, after.Sub(before)
}

// A header read right after the share's prefix was listed is one GET
// and no LIST; after the backend changed the storage index, after the
// listing grew old, or when the share vanished behind the backend's
// back, it lists again and answers what Share answers.
func TestHeaderReadAfterListing(t *testing.T) {
	ctx := context.Background()
	b, err := mem.New(mem.Options{ChunkSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	clock := &testClock{now: time.Unix(1e9, 0)}
	cloud.SetRecentClock(b, clock.Now)
	si := sharestore.StorageIndex{1, 2, 3}
	write := func(shnum, size int) {
		w, err := b.Shareset(si).WriteImmutable(ctx, shnum, int64(size))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ctx, 0, bytes.Repeat([]byte("x"), size)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	list := func() {
		if err := b.ListPrefix(ctx, si.Prefix(), func(sharestore.ShareInfo) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	write(0, 2500) // three chunks
	write(1, 10)
	want, err := b.Shareset(si).Share(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	id := sharestore.ShareID{SI: si, Shnum: 0}

	list()
	sh, err, reqs := headerRequests(t, b, id)
	if err != nil || sh != want {
		t.Fatalf("header after listing: %+v, %v; want %+v", sh, err, want)
	}
	if w := (sharestore.StoreRequests{sharestore.StoreGet: {OK: 1}}); len(reqs.Sub(w)) != 0 {
		t.Errorf("header read right after the listing made %v, want one GET", reqs)
	}

	// A write through the backend drops what the listing showed.
	write(2, 10)
	if _, err, reqs := headerRequests(t, b, id); err != nil || reqs[sharestore.StoreList].Total() == 0 {
		t.Errorf("header read after a write to the storage index made %v (%v), want a fresh listing", reqs, err)
	}

	// A listing older than the limit is not used.
	list()
	clock.advance(cloud.RecentMaxAge + time.Second)
	if _, err, reqs := headerRequests(t, b, id); err != nil || reqs[sharestore.StoreList].Total() == 0 {
		t.Errorf("header read after the listing grew old made %v (%v), want a fresh listing", reqs, err)
	}

	// A share deleted behind the backend's back after the listing is
	// not found, as Share says.
	list()
	if err := b.Store().Delete(ctx, b.KeyPrefix()+cloud.ChunkKey(si, 1, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err, _ := headerRequests(t, b, sharestore.ShareID{SI: si, Shnum: 1}); !errors.Is(err, sharestore.ErrNotFound) {
		t.Errorf("header of a share deleted after the listing: %v, want ErrNotFound", err)
	}
}
