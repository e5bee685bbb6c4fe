package mem

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
)

// DefaultPageSize is the number of objects a List page holds unless
// SetPageSize says otherwise: 1000, as S3 and GCS return.
const DefaultPageSize = 1000

// Store is an in-memory cloud.ObjectStore, also a cloud.ConditionalDeleter
// and a cloud.BucketCreator. Its zero value is not usable; call NewStore.
// It is safe for concurrent use.
//
// Every Put gives the object a new Version, the decimal value of a counter
// the store increments on every Put (like a GCS generation), so a rewrite
// with identical bytes still changes it. ModTime is the time of the Put.
type Store struct {
	mu       sync.Mutex
	objs     map[string]object
	seq      int64 // the last Version handed out
	pageSize int
	counts   Counts
}

// object is one stored object.
type object struct {
	data    []byte
	modTime time.Time
	version string
}

// Counts is the number of requests a Store has answered, by method,
// including those that failed. Tests use them to check that the layer
// above makes no more requests than it should.
type Counts struct {
	Lists, Gets, Puts, Deletes, Heads int
}

var (
	_ cloud.ObjectStore        = (*Store)(nil)
	_ cloud.ConditionalDeleter = (*Store)(nil)
	_ cloud.BucketCreator      = (*Store)(nil)
)

// NewStore returns an empty store whose List pages hold DefaultPageSize
// objects.
func NewStore() *Store {
	return &Store{objs: map[string]object{}, pageSize: DefaultPageSize}
}

// SetPageSize sets the number of objects a List page holds; n < 1 means
// DefaultPageSize. Tiny pages let tests cross many page boundaries with
// few objects.
func (s *Store) SetPageSize(n int) {
	if n < 1 {
		n = DefaultPageSize
	}
	s.mu.Lock()
	s.pageSize = n
	s.mu.Unlock()
}

// Counts returns the number of requests answered so far.
func (s *Store) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

// Keys returns every stored key in ascending order, whatever its prefix.
func (s *Store) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.objs))
	for k := range s.objs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func notFound(key string) error {
	return sharestore.Errorf(sharestore.ErrNotFound, "mem: object %s not found", key)
}

func (o object) info(key string) cloud.Object {
	return cloud.Object{Key: key, Size: int64(len(o.data)), ModTime: o.modTime, Version: o.version}
}

// List implements cloud.ObjectStore. The token is the last key of the
// previous page: the next page holds the keys after it. Sorting every
// matching key on each call is fine for a test store; a real adapter
// passes prefix and token to its store's own listing.
func (s *Store) List(ctx context.Context, prefix, token string) (cloud.Page, error) {
	if err := sharestore.CtxErr(ctx); err != nil {
		return cloud.Page{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.Lists++
	var keys []string
	for k := range s.objs {
		if strings.HasPrefix(k, prefix) && k > token {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var p cloud.Page
	if len(keys) > s.pageSize {
		keys = keys[:s.pageSize]
		p.Next = keys[len(keys)-1]
	}
	p.Objects = make([]cloud.Object, len(keys))
	for i, k := range keys {
		p.Objects[i] = s.objs[k].info(k)
	}
	return p, nil
}

// Get implements cloud.ObjectStore. It returns a copy, so the caller may
// keep or change it. A negative offset is ErrInvalidArgument.
func (s *Store) Get(ctx context.Context, key string, offset, length int64) ([]byte, error) {
	if err := sharestore.CtxErr(ctx); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "mem: get %s: negative offset %d", key, offset)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.Gets++
	o, ok := s.objs[key]
	if !ok {
		return nil, notFound(key)
	}
	size := int64(len(o.data))
	start := min(offset, size)
	end := size
	if length >= 0 && length < end-start {
		end = start + length
	}
	return append([]byte{}, o.data[start:end]...), nil
}

// Put implements cloud.ObjectStore. It stores a copy of data, so the
// caller may reuse its buffer.
func (s *Store) Put(ctx context.Context, key string, data []byte) error {
	if err := sharestore.CtxErr(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.Puts++
	s.seq++
	s.objs[key] = object{data: append([]byte{}, data...), modTime: time.Now(), version: strconv.FormatInt(s.seq, 10)}
	return nil
}

// Delete implements cloud.ObjectStore. A missing key is ErrNotFound.
func (s *Store) Delete(ctx context.Context, key string) error {
	return s.deleteIf(ctx, key, "")
}

// DeleteIf implements cloud.ConditionalDeleter: key is removed only if
// its Version is still version; otherwise the object stays and the error
// is ErrConflict. A missing key is ErrNotFound.
func (s *Store) DeleteIf(ctx context.Context, key, version string) error {
	if version == "" {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "mem: delete %s: empty version", key)
	}
	return s.deleteIf(ctx, key, version)
}

// deleteIf removes key, only if it holds version when version is not "".
func (s *Store) deleteIf(ctx context.Context, key, version string) error {
	if err := sharestore.CtxErr(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.Deletes++
	o, ok := s.objs[key]
	if !ok {
		return notFound(key)
	}
	if version != "" && o.version != version {
		return sharestore.Errorf(sharestore.ErrConflict, "mem: delete %s: it is version %s, not %s", key, o.version, version)
	}
	delete(s.objs, key)
	return nil
}

// Head implements cloud.ObjectStore, with the same Version List reports.
func (s *Store) Head(ctx context.Context, key string) (cloud.Object, error) {
	if err := sharestore.CtxErr(ctx); err != nil {
		return cloud.Object{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.Heads++
	o, ok := s.objs[key]
	if !ok {
		return cloud.Object{}, notFound(key)
	}
	return o.info(key), nil
}

// CreateBucket implements cloud.BucketCreator. A Store is its own bucket
// and always exists, so it does nothing.
func (s *Store) CreateBucket(ctx context.Context) error {
	return sharestore.CtxErr(ctx)
}
