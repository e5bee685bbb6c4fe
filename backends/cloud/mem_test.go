package cloud_test

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
)

// memStore is an in-memory ObjectStore for fast unit tests of the layer.
// The acceptance tests run the same layer against real emulators.
type memStore struct {
	mu       sync.Mutex
	objs     map[string]cloud.Object
	data     map[string][]byte
	pageSize int
	gets     int
	lists    int
}

func newMemStore(pageSize int) *memStore {
	return &memStore{objs: map[string]cloud.Object{}, data: map[string][]byte{}, pageSize: pageSize}
}

func (m *memStore) List(ctx context.Context, prefix, token string) (cloud.Page, error) {
	if err := sharestore.CtxErr(ctx); err != nil {
		return cloud.Page{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lists++
	var keys []string
	for k := range m.objs {
		if strings.HasPrefix(k, prefix) && k > token {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var p cloud.Page
	for i, k := range keys {
		if i == m.pageSize {
			p.Next = keys[i-1]
			break
		}
		p.Objects = append(p.Objects, m.objs[k])
	}
	return p, nil
}

func (m *memStore) Get(ctx context.Context, key string, off, n int64) ([]byte, error) {
	if err := sharestore.CtxErr(ctx); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets++
	d, ok := m.data[key]
	if !ok {
		return nil, sharestore.Errorf(sharestore.ErrNotFound, "mem: %s not found", key)
	}
	if off > int64(len(d)) {
		off = int64(len(d))
	}
	end := int64(len(d))
	if n >= 0 && off+n < end {
		end = off + n
	}
	return append([]byte(nil), d[off:end]...), nil
}

func (m *memStore) Put(ctx context.Context, key string, data []byte) error {
	if err := sharestore.CtxErr(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data[key] = append([]byte(nil), data...)
	m.objs[key] = cloud.Object{Key: key, Size: int64(len(data)), ModTime: time.Now()}
	return nil
}

func (m *memStore) Delete(ctx context.Context, key string) error {
	if err := sharestore.CtxErr(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objs[key]; !ok {
		return sharestore.Errorf(sharestore.ErrNotFound, "mem: %s not found", key)
	}
	delete(m.objs, key)
	delete(m.data, key)
	return nil
}

func (m *memStore) Head(ctx context.Context, key string) (cloud.Object, error) {
	if err := sharestore.CtxErr(ctx); err != nil {
		return cloud.Object{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objs[key]
	if !ok {
		return cloud.Object{}, sharestore.Errorf(sharestore.ErrNotFound, "mem: %s not found", key)
	}
	return o, nil
}

func (m *memStore) keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k := range m.objs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
