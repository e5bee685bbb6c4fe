package cloud_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/backends/mem"
)

// planPageSize is the page size of the plan tests' store: small, so that
// pages end mid-prefix and a prefix spans pages.
const planPageSize = 7

// plantSparse puts n one-chunk shares, some three-chunk shares and some
// foreign keys (not shares, but under shares/) into st, in random
// prefixes, and returns how many objects lie under shares/.
func plantSparse(t *testing.T, st *mem.Store, n int) int {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	objects := 0
	put := func(key string, size int) {
		if err := st.Put(ctx, key, make([]byte, size)); err != nil {
			t.Fatal(err)
		}
		objects++
	}
	for i := 0; i < n; i++ {
		var si sharestore.StorageIndex
		for j := range si {
			si[j] = byte(rng.IntN(256))
		}
		if i%2 == 0 { // crowd some prefixes
			si[0] = 0
		}
		put(cloud.ChunkKey(si, i%10, 0), 100)
		if i%17 == 0 {
			put(cloud.ChunkKey(si, i%10, 1), 100)
			put(cloud.ChunkKey(si, i%10, 2), 30)
		}
		if i%23 == 0 {
			put("shares/"+si.String()[:2]+"/junk-"+fmt.Sprint(i), 5)
		}
	}
	return objects
}

// scanAll returns every listing of a scan from first, and the LIST
// requests it took.
func scanAll(t *testing.T, b *cloud.Backend, first sharestore.Prefix, opts sharestore.ScanOptions) ([]sharestore.PrefixListing, int64) {
	t.Helper()
	ctx := context.Background()
	before, _ := b.StoreRequests(ctx)
	s, err := sharestore.Scan(ctx, b, first, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out []sharestore.PrefixListing
	for {
		l, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	after, _ := b.StoreRequests(ctx)
	return out, after.Sub(before)[sharestore.StoreList].OK
}

// A range scan returns exactly what a prefix scan returns, from any first
// prefix, for shares and for sharesets, and a whole-store range scan
// costs one LIST per page of the store's keys.
func TestRangeScanEqualsPrefixScan(t *testing.T) {
	st := mem.NewStore()
	objects := plantSparse(t, st, 400)
	open := func(plan cloud.ListPlan) *cloud.Backend {
		b, err := mem.New(mem.Options{Store: st, PageSize: planPageSize, ListPlan: plan})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	rb, pb := open(cloud.PlanRange), open(cloud.PlanPrefix)
	for _, first := range []int{0, 1, 31, 32, 33, 500, 991, 1023} {
		for _, sets := range []bool{false, true} {
			opts := sharestore.ScanOptions{Sharesets: sets, Ahead: 32, MaxAge: time.Hour}
			p := sharestore.PrefixAt(first)
			want, prefixLists := scanAll(t, pb, p, opts)
			got, rangeLists := scanAll(t, rb, p, opts)
			if len(want) != sharestore.NumPrefixes-first {
				t.Fatalf("prefix scan from %s: %d listings", p, len(want))
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("from %s (sharesets %v): the range scan's listings differ from the prefix scan's", p, sets)
			}
			if prefixLists < int64(len(want)) {
				t.Errorf("from %s: prefix scan made %d LISTs for %d prefixes", p, prefixLists, len(want))
			}
			if first == 0 {
				if w := int64((objects + planPageSize - 1) / planPageSize); rangeLists != w {
					t.Errorf("whole-store range scan made %d LISTs, want %d (one per page of %d objects)", rangeLists, w, objects)
				}
			} else if groups := int64(32 - first/32); rangeLists < groups || (len(want) > 64 && rangeLists >= prefixLists) {
				t.Errorf("range scan from %s made %d LISTs; want at least one per group (%d) and, over %d prefixes, fewer than the prefix scan's %d", p, rangeLists, groups, len(want), prefixLists)
			}
		}
	}
}

// A listing a range scan made ahead is not used once it is older than
// MaxAge: the prefix is listed again, and a share written meanwhile is
// in it.
func TestRangeScanMaxAge(t *testing.T) {
	ctx := context.Background()
	st := mem.NewStore()
	plantSparse(t, st, 100)
	b, err := mem.New(mem.Options{Store: st, PageSize: planPageSize, ListPlan: cloud.PlanRange})
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cloud.SetRecentClock(b, clock.Now)
	const ahead = 8
	s, err := sharestore.Scan(ctx, b, sharestore.PrefixAt(0), sharestore.ScanOptions{Ahead: ahead, MaxAge: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Next(); err != nil {
		t.Fatal(err)
	}
	for n, ok := cloud.Buffered(s); n < ahead; n, ok = cloud.Buffered(s) {
		if !ok {
			t.Fatal("not a range scan")
		}
		runtime.Gosched()
	}
	// Prefix 1 ("23") is listed; a share appears in it, and time passes.
	si, err := sharestore.ParseStorageIndex("23aaaaaaaaaaaaaaaaaaaaaaaa")
	if err != nil || si.Prefix() != sharestore.PrefixAt(1) {
		t.Fatalf("test SI %s is not under %s", si, sharestore.PrefixAt(1))
	}
	if err := st.Put(ctx, cloud.ChunkKey(si, 0, 0), make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	clock.advance(2 * time.Second)
	l, err := s.Next()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, info := range l.Shares {
		found = found || info.SI == si
	}
	if l.Prefix != sharestore.PrefixAt(1) || !found {
		t.Errorf("prefix %s after MaxAge: %d shares, the new share %s missing", l.Prefix, len(l.Shares), si)
	}
}

// Auto chooses range listings while it knows nothing, and for a sparse
// store; prefix listings once it has seen a store with a page of keys
// under every prefix. PlanPrefix and PlanRange are kept as given.
func TestAutoPlan(t *testing.T) {
	ctx := context.Background()
	st := mem.NewStore()
	open := func(plan cloud.ListPlan) *cloud.Backend {
		b, err := mem.New(mem.Options{Store: st, PageSize: planPageSize, ListPlan: plan})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b := open(cloud.PlanAuto)
	if p := cloud.PlanFor(b, 0); p != cloud.PlanRange {
		t.Errorf("knowing nothing: %s, want range", p)
	}
	plantSparse(t, st, 100)
	scanAll(t, b, sharestore.PrefixAt(0), sharestore.ScanOptions{Ahead: 32})
	if p := cloud.PlanFor(b, 0); p != cloud.PlanRange {
		t.Errorf("sparse store: %s, want range", p)
	}
	// A page of keys under every prefix: range saves nothing.
	for i := 0; i < sharestore.NumPrefixes; i++ {
		for j := 0; j < planPageSize; j++ {
			key := fmt.Sprintf("shares/%s/%s/%d", sharestore.PrefixAt(i), dense(i, j), 0)
			if err := st.Put(ctx, key, []byte("x")); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, lists := scanAll(t, b, sharestore.PrefixAt(0), sharestore.ScanOptions{Ahead: 32})
	if lists == 0 {
		t.Fatal("no LIST requests")
	}
	if p := cloud.PlanFor(b, 0); p != cloud.PlanPrefix {
		t.Errorf("dense store: %s, want prefix", p)
	}
	if p := cloud.PlanFor(b, 500); p != cloud.PlanPrefix {
		t.Errorf("dense store from prefix 500: %s, want prefix", p)
	}
	if p := cloud.PlanFor(open(cloud.PlanRange), 0); p != cloud.PlanRange {
		t.Errorf("PlanRange: %s", p)
	}
	if p := cloud.PlanFor(open(cloud.PlanPrefix), 0); p != cloud.PlanPrefix {
		t.Errorf("PlanPrefix: %s", p)
	}
	if _, err := mem.New(mem.Options{ListPlan: "flat"}); err == nil {
		t.Error("plan flat accepted")
	}
}

// dense returns the j-th storage index text under prefix index i.
func dense(i, j int) string {
	var si sharestore.StorageIndex
	si[15] = byte(j)
	s := []byte(si.String())
	p := sharestore.PrefixAt(i)
	s[0], s[1] = p[0], p[1]
	return string(s)
}

// heldPages is a store whose listing pages after the first wait until
// their request is canceled; asked is closed when the first such request
// arrives.
type heldPages struct {
	*mem.Store
	asked chan struct{}
	once  chan struct{}
}

func (h *heldPages) List(ctx context.Context, prefix, token string) (cloud.Page, error) {
	if token == "" {
		return h.Store.List(ctx, prefix, token)
	}
	select {
	case h.once <- struct{}{}:
		close(h.asked)
	default:
	}
	<-ctx.Done()
	return cloud.Page{}, ctx.Err()
}

// The next page a range listing requests ahead, abandoned when the scan
// closes, counts as canceled, not failed: a healthy cycle reports no
// failed request.
func TestRangeScanCountsAbandonedPageCanceled(t *testing.T) {
	ctx := context.Background()
	st := mem.NewStore()
	plantSparse(t, st, 100)
	st.SetPageSize(planPageSize)
	h := &heldPages{Store: st, asked: make(chan struct{}), once: make(chan struct{}, 1)}
	b, err := cloud.New(h, cloud.Options{Name: "held", ListPlan: cloud.PlanRange})
	if err != nil {
		t.Fatal(err)
	}
	s, err := sharestore.Scan(ctx, b, sharestore.PrefixAt(0), sharestore.ScanOptions{Ahead: 4})
	if err != nil {
		t.Fatal(err)
	}
	<-h.asked
	s.Close()
	got, err := b.StoreRequests(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (sharestore.OpCounts{OK: 1, Canceled: 1}); got[sharestore.StoreList] != want {
		t.Errorf("LIST counts %+v, want %+v", got[sharestore.StoreList], want)
	}
}
