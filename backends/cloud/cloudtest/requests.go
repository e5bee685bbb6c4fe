package cloudtest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/crawler"
	"github.com/sharestore/sharestore/leasedb"
)

// wireCounter counts the HTTP requests that reach the emulator, so a
// test can check that the backend's own counts miss none.
type wireCounter struct{ n atomic.Int64 }

func (w *wireCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	w.n.Add(1)
	return http.DefaultTransport.RoundTrip(req)
}

// patternShares is the store of the request-pattern test: shares in a
// letter prefix and a digit prefix, several shares of one storage index,
// and a share of three chunks. It returns how many shares and how many
// objects (chunks) it planted.
func plantPattern(ctx context.Context, t *testing.T, b sharestore.Backend) (shares, objects int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 8))
	plant := func(si sharestore.StorageIndex, shnum, size int) {
		ss := b.Shareset(si)
		w, err := ss.WriteImmutable(ctx, shnum, int64(size))
		if err != nil {
			t.Fatalf("plant %s/%d: %v", si, shnum, err)
		}
		if err := w.Write(ctx, 0, bytes.Repeat([]byte{byte(shnum)}, size)); err != nil {
			t.Fatalf("plant %s/%d: %v", si, shnum, err)
		}
		if err := w.Close(ctx); err != nil {
			t.Fatalf("plant %s/%d: %v", si, shnum, err)
		}
		info, err := ss.Share(ctx, shnum)
		if err != nil {
			t.Fatalf("planted %s/%d: %v", si, shnum, err)
		}
		shares++
		objects += int((info.Size + patternChunk - 1) / patternChunk)
	}
	for i := 0; i < 12; i++ {
		plant(siWithPrefix(rng, "aa"), 0, 300)
	}
	multi := siWithPrefix(rng, "a7")
	for shnum := 0; shnum < 4; shnum++ {
		plant(multi, shnum, 200)
	}
	plant(siWithPrefix(rng, "zz"), 9, 2500) // three chunks
	return shares, objects
}

// patternChunk is the chunk size of the request-pattern test's shares.
const patternChunk = 1000

// testRequestPattern runs two accounting cycles over a small store
// under each listing plan, and checks the exact requests of each cycle,
// as the backend counts them and as the engine records them. Under
// PlanPrefix a cycle lists every prefix once (one LIST page each, the
// store being far below a page per prefix); under PlanRange, and under
// PlanAuto (which chooses it for so sparse a store), a cycle is one LIST
// page, the whole store fitting in it. A first cycle also reads each new
// share's header with one ranged GET; a steady cycle reads nothing.
// Neither writes or deletes anything, and the emulator sees exactly the
// requests counted.
func testRequestPattern(t *testing.T, f Factory) {
	for _, c := range []struct {
		plan  cloud.ListPlan
		lists int64
	}{{cloud.PlanPrefix, sharestore.NumPrefixes}, {cloud.PlanRange, 1}, {cloud.PlanAuto, 1}} {
		t.Run(string(c.plan), func(t *testing.T) { testPlanRequests(t, f, c.plan, c.lists) })
	}
}

// testPlanRequests is testRequestPattern under one plan, whose cycles
// each make lists LIST requests.
func testPlanRequests(t *testing.T, f Factory, plan cloud.ListPlan, lists int64) {
	ctx := context.Background()
	wire := &wireCounter{}
	b := f.Open(t, FreshPrefix("pattern"), &http.Client{Transport: wire}, cloud.Options{Retry: FastRetry, ChunkSize: patternChunk, ListPlan: plan})
	shares, _ := plantPattern(ctx, t, b)

	dir := t.TempDir()
	db, err := leasedb.Open(ctx, filepath.Join(dir, "leasedb.sqlite"), leasedb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	clock := crawler.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	cfg := crawler.Config{CPUSlice: 1000 * time.Hour, OneShot: true, Logger: quiet,
		Requests: func(ctx context.Context) (sharestore.StoreRequests, bool, error) {
			return sharestore.StoreRequestsOf(ctx, b)
		}}
	statePath := filepath.Join(dir, "accounting.json")

	for cycle, want := range []sharestore.StoreRequests{
		{sharestore.StoreList: {OK: lists}, sharestore.StoreGet: {OK: int64(shares)}},
		{sharestore.StoreList: {OK: lists}},
	} {
		acct, err := crawler.NewAccounting(b, db, clock, crawler.AccountingConfig{Logger: quiet, Prefetch: true})
		if err != nil {
			t.Fatal(err)
		}
		e, err := crawler.New(acct, statePath, clock, cfg, crawler.Hooks{})
		if err != nil {
			t.Fatal(err)
		}
		before, _ := b.StoreRequests(ctx)
		wireBefore := wire.n.Load()
		if err := e.Run(ctx); err != nil {
			t.Fatalf("cycle %d: %v", cycle, err)
		}
		after, _ := b.StoreRequests(ctx)
		got := after.Sub(before)
		if !equalRequests(got, want) {
			t.Errorf("cycle %d (%s) made %v, want %v", cycle, map[int]string{0: "first", 1: "steady"}[cycle], got, want)
		}
		if rec := e.State().LastCycleRequests; !equalRequests(rec, got) {
			t.Errorf("cycle %d: the state records %v, the backend counted %v", cycle, rec, got)
		}
		if onWire := wire.n.Load() - wireBefore; onWire != got.Total() {
			t.Errorf("cycle %d: %d HTTP requests reached the emulator, the backend counted %d", cycle, onWire, got.Total())
		}
		rep, err := acct.Report(ctx, e.State())
		if err != nil {
			t.Fatal(err)
		}
		if h := rep.History[*e.State().LastCycleFinished]; !equalRequests(h.Requests, got) {
			t.Errorf("cycle %d: the history entry records %v, want %v", cycle, h.Requests, got)
		}
		clock.Advance(24 * time.Hour)
	}
}

// equalRequests reports whether a and b hold the same counts (an op
// with no requests may be absent from either).
func equalRequests(a, b sharestore.StoreRequests) bool {
	d := a.Sub(b)
	return len(d) == 0
}
