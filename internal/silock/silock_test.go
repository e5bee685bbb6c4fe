package silock

import (
	"context"
	"errors"
	"sync"
	"testing"
)

func TestSerializesPerKey(t *testing.T) {
	var m Map[string]
	ctx := context.Background()
	var wg sync.WaitGroup
	inside := map[string]int{}
	var mu sync.Mutex
	for i := 0; i < 50; i++ {
		for _, k := range []string{"a", "b"} {
			wg.Add(1)
			go func(k string) {
				defer wg.Done()
				unlock, err := m.Lock(ctx, k)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				inside[k]++
				if inside[k] != 1 {
					t.Errorf("two holders of %s", k)
				}
				mu.Unlock()
				mu.Lock()
				inside[k]--
				mu.Unlock()
				unlock()
				unlock() // idempotent
			}(k)
		}
	}
	wg.Wait()
	if m.Len() != 0 {
		t.Fatalf("%d locks left", m.Len())
	}
}

func TestLockHonoursContext(t *testing.T) {
	var m Map[int]
	unlock, _ := m.Lock(context.Background(), 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Lock(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	unlock()
	u2, err := m.Lock(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	u2()
	if m.Len() != 0 {
		t.Fatal("leak")
	}
}
