package cloud_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/backends/mem"
)

var fast = cloud.RetryPolicy{Attempts: 5, MaxElapsed: time.Minute, Base: time.Microsecond, Max: 10 * time.Microsecond}

func TestRetryPolicy(t *testing.T) {
	ctx := context.Background()
	failN := func(n int, code sharestore.Code, calls *int) func(context.Context) error {
		return func(context.Context) error {
			*calls++
			if *calls <= n {
				return sharestore.Errorf(code, "injected %d", *calls)
			}
			return nil
		}
	}
	for _, code := range []sharestore.Code{sharestore.ErrThrottled, sharestore.ErrUnavailable} {
		calls := 0
		if err := fast.Do(ctx, "op", failN(4, code, &calls)); err != nil || calls != 5 {
			t.Errorf("%v x4: err %v after %d calls, want success after 5", code, err, calls)
		}
		calls = 0
		err := fast.Do(ctx, "op", failN(10, code, &calls))
		if !errors.Is(err, code) || calls != 5 || !strings.Contains(err.Error(), "gave up after 5 attempts") {
			t.Errorf("%v x10: %v after %d calls, want %v after 5", code, err, calls, code)
		}
	}
	for _, code := range []sharestore.Code{sharestore.ErrNotFound, sharestore.ErrPermissionDenied, sharestore.ErrInvalidArgument, sharestore.ErrCorrupt} {
		calls := 0
		if err := fast.Do(ctx, "op", failN(10, code, &calls)); !errors.Is(err, code) || calls != 1 {
			t.Errorf("%v: %v after %d calls, want no retry", code, err, calls)
		}
	}
	// Elapsed time bounds the attempts.
	slow := cloud.RetryPolicy{Attempts: 1000, MaxElapsed: 30 * time.Millisecond, Base: 5 * time.Millisecond, Max: 10 * time.Millisecond}
	calls := 0
	start := time.Now()
	if err := slow.Do(ctx, "op", failN(1<<30, sharestore.ErrUnavailable, &calls)); !errors.Is(err, sharestore.ErrUnavailable) || calls >= 1000 {
		t.Errorf("MaxElapsed: %v after %d calls", err, calls)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("MaxElapsed 30ms took %v", d)
	}
	// A canceled context stops the retries, and is reported as such.
	cctx, cancel := context.WithCancel(ctx)
	calls = 0
	err := slow.Do(cctx, "op", func(context.Context) error {
		calls++
		cancel()
		return sharestore.Errorf(sharestore.ErrThrottled, "busy")
	})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Errorf("canceled: %v after %d calls", err, calls)
	}
	if err := fast.Do(cctx, "op", func(context.Context) error { t.Error("attempt after cancel"); return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Do on a canceled context: %v", err)
	}
}

func TestClassifyStatus(t *testing.T) {
	for status, want := range map[int]sharestore.Code{404: sharestore.ErrNotFound, 403: sharestore.ErrPermissionDenied, 429: sharestore.ErrThrottled, 500: sharestore.ErrUnavailable, 502: sharestore.ErrUnavailable, 400: sharestore.ErrInvalidArgument} {
		if got := cloud.ClassifyStatus(status, false); got != want {
			t.Errorf("ClassifyStatus(%d) = %v, want %v", status, got, want)
		}
	}
	if cloud.ClassifyStatus(503, true) != sharestore.ErrThrottled || cloud.ClassifyStatus(503, false) != sharestore.ErrUnavailable {
		t.Error("503")
	}
}

func TestRedact(t *testing.T) {
	in := `GET https://x/?sig=abc123&se=1 AccountKey=Zm9vYmFy; X-Amz-Signature=deadbeef "private_key": "-----BEGIN`
	out := cloud.Redact(in)
	for _, secret := range []string{"abc123", "Zm9vYmFy", "deadbeef"} {
		if strings.Contains(out, secret) {
			t.Errorf("Redact left %q in %q", secret, out)
		}
	}
	err := cloud.AdapterError(sharestore.ErrPermissionDenied, "s3: get k", errors.New("denied sig=topsecret"))
	if strings.Contains(err.Error(), "topsecret") || !errors.Is(err, sharestore.ErrPermissionDenied) {
		t.Errorf("AdapterError = %v", err)
	}
}

// stuckStore returns a truncated page whose token never changes.
type stuckStore struct{ *mem.Store }

func (s stuckStore) List(ctx context.Context, prefix, token string) (cloud.Page, error) {
	return cloud.Page{Next: "same"}, nil
}

// A listing page that does not advance is an error, not an endless loop.
func TestListingMustAdvance(t *testing.T) {
	b, err := cloud.New(stuckStore{mem.NewStore()}, cloud.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = b.ListPrefix(context.Background(), "aa", func(sharestore.ShareInfo) error { return nil })
	if !errors.Is(err, sharestore.ErrInternal) || !strings.Contains(err.Error(), "not making progress") {
		t.Fatalf("ListPrefix over a stuck listing: %v", err)
	}
}

// Keys that are not share chunks (wrong shape, non-canonical numbers,
// another prefix, chunk suffix 0) are never listed or counted; orphan
// chunks without chunk 0 are invisible; a stale chunk after the short
// last chunk is not counted.
func TestForeignAndOrphanKeys(t *testing.T) {
	ctx := context.Background()
	m := mem.NewStore()
	m.SetPageSize(4)
	b, _ := cloud.New(m, cloud.Options{ChunkSize: 10})
	si, _ := sharestore.ParseStorageIndex("aaaaaaaaaaaaaaaaaaaaaaaaaa")
	s := si.String()
	put := func(k string, n int) { m.Put(ctx, k, make([]byte, n)) }
	put("shares/aa/"+s+"/0", 10)
	put("shares/aa/"+s+"/0.1", 10)
	put("shares/aa/"+s+"/0.2", 3)
	put("shares/aa/"+s+"/0.4", 10) // stale: after a gap
	put("shares/aa/"+s+"/1.1", 10) // orphan: no chunk 0
	for _, k := range []string{"shares/aa/" + s + "/01", "shares/aa/" + s + "/2.0", "shares/aa/" + s + "/x", "shares/aa/" + s + "/3/4", "shares/aa/x/0", "shares/ab/" + s + "/0", "shares/aa/" + strings.ToUpper(s) + "/0", "stray"} {
		put(k, 5)
	}
	var got []sharestore.ShareInfo
	if err := b.ListPrefix(ctx, "aa", func(i sharestore.ShareInfo) error { got = append(got, i); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Shnum != 0 || got[0].Size != 23 {
		t.Fatalf("ListPrefix = %+v, want share 0 of 23 bytes", got)
	}
	if err := b.Shareset(si).DeleteShare(ctx, 0, nil); err != nil {
		t.Fatal(err)
	}
	left := strings.Join(m.Keys(), " ")
	if strings.Contains(left, "shares/aa/"+s+"/0 ") || strings.Contains(left, "shares/aa/"+s+"/0.") || !strings.Contains(left, s+"/1.1") || !strings.Contains(left, "stray") {
		t.Fatalf("after DeleteShare(0) the store holds %s", left)
	}
}
