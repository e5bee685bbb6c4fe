// Package workerpool runs a function over a slice on a bounded number of
// goroutines.
package workerpool

import (
	"context"
	"sync"
)

// Each calls fn once for each of items, from at most n goroutines at a
// time (at least one), and returns when every call it started has
// returned. If ctx ends first it hands out no more items and returns
// ctx.Err(); fn has then been called for some of items only. fn must do
// its own locking for whatever its calls share.
func Each[T any](ctx context.Context, items []T, n int, fn func(T)) error {
	work := make(chan T)
	var wg sync.WaitGroup
	for w := 0; w < min(max(n, 1), len(items)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				fn(it)
			}
		}()
	}
	var err error
feed:
	for _, it := range items {
		select {
		case work <- it:
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(work)
	wg.Wait()
	return err
}
