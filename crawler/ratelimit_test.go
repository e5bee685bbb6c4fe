package crawler

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
)

// Every request waits its turn: with the burst spent, each mutation (a
// delete, an immutable upload and each of its writer's calls, a mutable
// test-and-write, a raw put) and each read sleeps for one token's time
// on the limiter's clock.
func TestRateLimitEveryRequest(t *testing.T) {
	clock := NewFakeClock(t0)
	b := RateLimit(newDisk(t), 10, 1, clock)
	ctx := context.Background()
	si := sharestore.StorageIndex{9}
	ss := b.Shareset(si)
	// The first request spends the burst.
	if _, err := b.AvailableSpace(ctx); err != nil {
		t.Fatal(err)
	}
	var w sharestore.ImmutableWriter
	var we sharestore.WriteEnabler
	for _, step := range []struct {
		name string
		do   func() error
	}{
		{"WriteImmutable", func() (err error) { w, err = ss.WriteImmutable(ctx, 0, 3); return err }},
		{"ImmutableWriter.Write", func() error { return w.Write(ctx, 0, []byte("abc")) }},
		{"ImmutableWriter.Close", func() error { return w.Close(ctx) }},
		{"TestAndReadAndWrite", func() error {
			_, _, err := ss.TestAndReadAndWrite(ctx, we, []sharestore.TestAndWrite{{Shnum: 1, Writes: []sharestore.DataVector{{Data: []byte("m")}}}}, nil)
			return err
		}},
		{"PutRaw", func() error { return ss.PutRaw(ctx, 2, bytes.NewReader(nil), 0) }},
		{"DeleteShare", func() error { return ss.DeleteShare(ctx, 0, nil) }},
		{"Shares", func() error { _, _, err := ss.Shares(ctx); return err }},
		{"SharesetsForPrefix", func() error { _, err := b.SharesetsForPrefix(ctx, si.Prefix()); return err }},
	} {
		before := clock.Now()
		n := len(clock.Sleeps())
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got := clock.Now().Sub(before); got != 100*time.Millisecond || len(clock.Sleeps()) != n+1 {
			t.Errorf("%s waited %v in %d sleeps, want 100ms in one", step.name, got, len(clock.Sleeps())-n)
		}
	}
}

// A scan pays one token to start and one per prefix it returns; a batch
// of header reads one per share, even beyond the burst.
func TestRateLimitScanAndHeaders(t *testing.T) {
	clock := NewFakeClock(t0)
	b := RateLimit(newDisk(t), 10, 2, clock)
	ctx := context.Background()
	s, err := sharestore.Scan(ctx, b, sharestore.PrefixAt(sharestore.NumPrefixes-4), sharestore.ScanOptions{Ahead: 2})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := s.Next(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	// 5 tokens with a burst of 2: 3 waited for at 10/s.
	if got := clock.Now().Sub(t0); got != 300*time.Millisecond {
		t.Fatalf("a scan of 4 prefixes waited %v, want 300ms", got)
	}
	ids := make([]sharestore.ShareID, 5)
	for i := range ids {
		ids[i] = sharestore.ShareID{SI: sharestore.StorageIndex{byte(i)}}
	}
	start := clock.Now()
	err = sharestore.ReadHeaders(ctx, b, ids, 2, func(sharestore.ShareID, sharestore.Share, error) {})
	if err != nil {
		t.Fatal(err)
	}
	if got := clock.Now().Sub(start); got != 500*time.Millisecond {
		t.Fatalf("5 header reads waited %v, want 500ms", got)
	}
}

// A request whose context ends while it waits fails with the context's
// error and does not reach the backend.
func TestRateLimitCanceledWait(t *testing.T) {
	clock := NewFakeClock(t0)
	inner := newDisk(t)
	b := RateLimit(inner, 1, 1, clock)
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := b.AvailableSpace(ctx); err != nil {
		t.Fatal(err)
	}
	clock.OnSleep = func(time.Duration) { cancel() }
	w, err := b.Shareset(sharestore.StorageIndex{1}).WriteImmutable(ctx, 0, 1)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("WriteImmutable with its context canceled in the wait: %v, %v", w, err)
	}
	// Nothing was started: the share can be written at once.
	w, err = inner.Shareset(sharestore.StorageIndex{1}).WriteImmutable(context.Background(), 0, 1)
	if err != nil {
		t.Fatalf("the canceled request reached the backend: %v", err)
	}
	w.Abort(context.Background())
}
