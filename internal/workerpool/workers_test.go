package workerpool

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

func TestEachCallsEveryItemOnceWithinTheBound(t *testing.T) {
	for _, n := range []int{-1, 0, 1, 3, 100} {
		items := make([]int, 50)
		for i := range items {
			items[i] = i
		}
		var mu sync.Mutex
		seen := map[int]int{}
		var running, peak atomic.Int32
		err := Each(context.Background(), items, n, func(i int) {
			r := running.Add(1)
			for {
				p := peak.Load()
				if r <= p || peak.CompareAndSwap(p, r) {
					break
				}
			}
			mu.Lock()
			seen[i]++
			mu.Unlock()
			running.Add(-1)
		})
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		for _, i := range items {
			if seen[i] != 1 {
				t.Fatalf("n=%d: item %d called %d times", n, i, seen[i])
			}
		}
		if bound := int32(max(n, 1)); peak.Load() > bound {
			t.Fatalf("n=%d: %d calls at once, want at most %d", n, peak.Load(), bound)
		}
	}
	if err := Each(context.Background(), []int(nil), 4, func(int) { t.Fatal("called for nothing") }); err != nil {
		t.Fatal(err)
	}
}

func TestEachStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	err := Each(ctx, make([]int, 100), 1, func(int) {
		if calls.Add(1) == 3 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	// One worker: the item being handed out when cancel ran may still
	// have been taken, so at most one more call.
	if c := calls.Load(); c < 3 || c > 4 {
		t.Fatalf("%d calls after canceling at the third", c)
	}
}
