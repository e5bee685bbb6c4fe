package sharestore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/mem"
)

func TestRequestMeterClassifies(t *testing.T) {
	var m sharestore.RequestMeter
	m.Count(sharestore.StoreList, false, nil)
	m.Count(sharestore.StoreGet, false, sharestore.Errorf(sharestore.ErrNotFound, "gone"))
	m.Count(sharestore.StoreGet, false, sharestore.Errorf(sharestore.ErrThrottled, "slow down"))
	m.Count(sharestore.StoreGet, true, nil)
	m.Count(sharestore.StorePut, false, errors.New("reset"))
	m.Count(sharestore.StoreList, false, fmt.Errorf("next page: %w", context.Canceled))
	m.Count(sharestore.StoreList, true, sharestore.CtxErr(canceledCtx()))
	m.Count(sharestore.StoreHead, false, context.DeadlineExceeded)
	m.Count("bogus", false, nil)
	got := m.Snapshot()
	want := sharestore.StoreRequests{
		sharestore.StoreList: {OK: 1, Canceled: 2, Retries: 1},
		sharestore.StoreGet:  {OK: 1, NotFound: 1, Throttled: 1, Retries: 1},
		sharestore.StoreHead: {Failed: 1},
		sharestore.StorePut:  {Failed: 1},
	}
	if len(got.Sub(want)) != 0 || len(got) != len(want) {
		t.Fatalf("snapshot %v, want %v", got, want)
	}
	if got.Total() != 8 {
		t.Errorf("total %d, want 8", got.Total())
	}
	if s, w := got.String(), "3 list (2 canceled, 1 retries), 3 get (1 not found, 1 throttled, 1 retries), 1 head (1 failed), 1 put (1 failed), 0 delete"; s != w {
		t.Errorf("String() = %q, want %q", s, w)
	}
}

func TestStoreRequestsArithmeticAndJSON(t *testing.T) {
	a := sharestore.StoreRequests{sharestore.StoreList: {OK: 5}, sharestore.StoreGet: {OK: 2, Retries: 1}}
	b := sharestore.StoreRequests{sharestore.StoreList: {OK: 3}}
	d := a.Sub(b)
	if d[sharestore.StoreList].OK != 2 || d[sharestore.StoreGet].OK != 2 || d[sharestore.StoreGet].Retries != 1 {
		t.Errorf("a - b = %v", d)
	}
	if s := d.Add(b); len(s.Sub(a)) != 0 {
		t.Errorf("(a - b) + b = %v, want %v", s, a)
	}
	if len(a.Sub(a)) != 0 {
		t.Errorf("a - a = %v, want no ops", a.Sub(a))
	}
	js, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"get":{"ok":2,"retries":1},"list":{"ok":5}}`; string(js) != want {
		t.Errorf("JSON %s, want %s", js, want)
	}
	var back sharestore.StoreRequests
	if err := json.Unmarshal(js, &back); err != nil || len(back.Sub(a)) != 0 {
		t.Errorf("JSON round trip: %v, %v", back, err)
	}
}

// unimplementedCounter is a backend that can tell only when asked that it
// keeps no counts, as a plugin does.
type unimplementedCounter struct{ sharestore.Backend }

func (unimplementedCounter) StoreRequests(context.Context) (sharestore.StoreRequests, error) {
	return nil, sharestore.Errorf(sharestore.ErrUnimplemented, "no counts")
}

func TestStoreRequestsOfLooksThroughWrappers(t *testing.T) {
	ctx := context.Background()
	b, err := mem.New(mem.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	wrapped := sharestore.Intercept(b, sharestore.Hooks{})
	if err := wrapped.ListPrefix(ctx, "aa", func(sharestore.ShareInfo) error { return nil }); err != nil {
		t.Fatal(err)
	}
	r, ok, err := sharestore.StoreRequestsOf(ctx, wrapped)
	if err != nil || !ok {
		t.Fatalf("StoreRequestsOf through Intercept: %v, %v", ok, err)
	}
	if r[sharestore.StoreList].OK != 1 {
		t.Errorf("one ListPrefix of an empty prefix counted %v, want 1 list", r)
	}
	if _, ok, err := sharestore.StoreRequestsOf(ctx, unimplementedCounter{b}); ok || err != nil {
		t.Errorf("a counter that reports ErrUnimplemented: ok %v, err %v; want no counts and no error", ok, err)
	}
}

// canceledCtx returns a context that is already canceled.
func canceledCtx() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
