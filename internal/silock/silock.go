// Package silock provides one lock per storage index, as Tahoe's backends
// keep (Tahoe #1869): operations on one storage index are serialized,
// operations on different ones run concurrently. Locks are created on
// demand and dropped when no one holds or waits for them.
package silock

import (
	"context"
	"sync"

	"github.com/sharestore/sharestore"
)

// Map is a set of per-key locks. The zero value is ready to use.
type Map[K comparable] struct {
	mu    sync.Mutex
	locks map[K]*entry
}

type entry struct {
	ch   chan struct{} // holds one token while unlocked
	refs int
}

// Lock acquires the lock for key, waiting until it is free or ctx ends.
// It returns the function that releases the lock, or ctx's error
// (classified with sharestore.CtxErr) if ctx ended first.
func (m *Map[K]) Lock(ctx context.Context, key K) (unlock func(), err error) {
	m.mu.Lock()
	if m.locks == nil {
		m.locks = make(map[K]*entry)
	}
	e := m.locks[key]
	if e == nil {
		e = &entry{ch: make(chan struct{}, 1)}
		e.ch <- struct{}{}
		m.locks[key] = e
	}
	e.refs++
	m.mu.Unlock()

	select {
	case <-e.ch:
	case <-ctx.Done():
		m.release(key, e, false)
		return nil, sharestore.CtxErr(ctx)
	}
	var once sync.Once
	return func() { once.Do(func() { m.release(key, e, true) }) }, nil
}

func (m *Map[K]) release(key K, e *entry, held bool) {
	if held {
		e.ch <- struct{}{}
	}
	m.mu.Lock()
	e.refs--
	if e.refs == 0 {
		delete(m.locks, key)
	}
	m.mu.Unlock()
}

// Len returns the number of keys that are held or waited for.
func (m *Map[K]) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.locks)
}
