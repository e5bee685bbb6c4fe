package cloud

import (
	"context"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/driver"
)

// Version is the cloud layer's implementation version.
const Version = "1.0.0"

// DefaultChunkSize is the chunk size of new shares: 512 KiB, as Tahoe's
// cloud backend writes.
const DefaultChunkSize = 512 * 1024

// Options configure a cloud backend.
type Options struct {
	// Name is the backend kind reported by Capabilities, such as "s3".
	Name string
	// KeyPrefix is put in front of every key, so that several stores can
	// share one bucket (Tahoe S4's s3.prefix). A non-empty prefix that
	// does not end in "/" gets one. The backend never lists, reads or
	// deletes anything outside KeyPrefix+"shares/".
	KeyPrefix string
	// ChunkSize is the chunk size of new shares; zero means
	// DefaultChunkSize. Existing shares keep the size of their chunk 0.
	ChunkSize int64
	// NodeID is recorded in new mutable containers.
	NodeID sharestore.NodeID
	// ContainerVersion is the version of new containers, 1 or 2 (0 means
	// 1).
	ContainerVersion int
	// Retry bounds the retries of every request.
	Retry RetryPolicy
	// MaxObjectSize is reported by Capabilities (0: no limit).
	MaxObjectSize int64
	// ConditionalWrites is reported by Capabilities.
	ConditionalWrites bool
	// ReadOnly makes every mutation fail with ErrPermissionDenied, and
	// AvailableSpace report 0, without a request to the store.
	ReadOnly bool
	// ListPlan is how scans list the store (see ListPlan); "" is
	// PlanAuto.
	ListPlan ListPlan
}

// Backend is a sharestore.Backend over an ObjectStore: the shared layer
// (driver.Backend, embedded) over this package's chunked layout. It is
// safe for concurrent use. See the package documentation for the key
// layout and the order of writes.
type Backend struct {
	*driver.Backend
	c *chunked
}

// chunked is the driver under the shared layer: shares as chunk objects
// in an ObjectStore.
type chunked struct {
	store ObjectStore
	opts  Options
	kp    string
	meter sharestore.RequestMeter
	// recent remembers the layouts of recent prefix listings for
	// header reads (see ReadHeaderGroup).
	recent recentLayouts
	// learned is what listings showed of the store's density, for the
	// listing plan.
	learned learned
}

var (
	_ sharestore.Backend        = (*Backend)(nil)
	_ sharestore.RequestCounter = (*Backend)(nil)
	_ sharestore.PrefixScanner  = (*chunked)(nil)
)

// New returns a backend that keeps its shares in store. It does no I/O.
// An invalid option is ErrInvalidArgument.
func New(store ObjectStore, opts Options) (*Backend, error) {
	if store == nil {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "cloud: nil object store")
	}
	if opts.Name == "" {
		opts.Name = "cloud"
	}
	if opts.ChunkSize == 0 {
		opts.ChunkSize = DefaultChunkSize
	}
	if opts.ChunkSize < 1 {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "cloud: chunk size %d must be positive", opts.ChunkSize)
	}
	if opts.ContainerVersion == 0 {
		opts.ContainerVersion = 1
	}
	if opts.ContainerVersion != 1 && opts.ContainerVersion != 2 {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "cloud: container version %d: must be 1 or 2", opts.ContainerVersion)
	}
	plan, err := ParseListPlan(string(opts.ListPlan))
	if err != nil {
		return nil, err
	}
	opts.ListPlan = plan
	kp, err := NormalizeKeyPrefix(opts.KeyPrefix)
	if err != nil {
		return nil, err
	}
	opts.KeyPrefix = kp
	c := &chunked{store: store, opts: opts, kp: kp}
	layer, err := driver.New(c, driver.Options{Name: opts.Name, ReadOnly: opts.ReadOnly})
	if err != nil {
		return nil, err
	}
	return &Backend{Backend: layer, c: c}, nil
}

// NormalizeKeyPrefix returns prefix with a trailing "/" added when it is
// non-empty and lacks one. A prefix that starts with "/" or contains an
// empty, "." or ".." component is ErrInvalidArgument.
func NormalizeKeyPrefix(prefix string) (string, error) {
	if prefix == "" {
		return "", nil
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	for _, c := range strings.Split(strings.TrimSuffix(prefix, "/"), "/") {
		if c == "" || c == "." || c == ".." {
			return "", sharestore.Errorf(sharestore.ErrInvalidArgument, "cloud: key prefix %q has an empty, '.' or '..' component", prefix)
		}
	}
	return prefix, nil
}

// Store returns the object store the backend uses.
func (b *Backend) Store() ObjectStore { return b.c.store }

// KeyPrefix returns the normalized key prefix ("" or ending in "/").
func (b *Backend) KeyPrefix() string { return b.c.kp }

// StoreRequests implements sharestore.RequestCounter: every request the
// backend has sent to its store since New, by kind and result, each
// attempt of a retried request counted once. It does no I/O and never
// fails.
func (b *Backend) StoreRequests(context.Context) (sharestore.StoreRequests, error) {
	return b.c.meter.Snapshot(), nil
}

// Options returns the backend's options after defaults were applied.
func (b *Backend) Options() Options { return b.c.opts }

// --- requests, each with the retry policy ---

// do makes one request of kind op with the retry policy, and counts
// every attempt in the backend's meter. It is the only way a request
// reaches the store.
func (b *chunked) do(ctx context.Context, op sharestore.StoreOp, what string, fn func(context.Context) error) error {
	attempt := 0
	return b.opts.Retry.Do(ctx, what, func(ctx context.Context) error {
		err := fn(ctx)
		b.meter.Count(op, attempt > 0, err)
		attempt++
		return err
	})
}

func (b *chunked) get(ctx context.Context, rel string, off, n int64) ([]byte, error) {
	var out []byte
	err := b.do(ctx, sharestore.StoreGet, b.opts.Name+": get "+b.kp+rel, func(ctx context.Context) error {
		var err error
		out, err = b.store.Get(ctx, b.kp+rel, off, n)
		return err
	})
	return out, err
}

// changing drops what recent remembers of the storage index whose
// object rel is about to change.
func (b *chunked) changing(rel string) {
	if ref, ok := parseChunkKey(rel); ok {
		b.recent.forget(ref.SI)
	}
}

func (b *chunked) put(ctx context.Context, rel string, data []byte) error {
	b.changing(rel)
	return b.do(ctx, sharestore.StorePut, b.opts.Name+": put "+b.kp+rel, func(ctx context.Context) error {
		return b.store.Put(ctx, b.kp+rel, data)
	})
}

// del deletes one object; a missing object is success.
func (b *chunked) del(ctx context.Context, rel string) error {
	b.changing(rel)
	err := b.do(ctx, sharestore.StoreDelete, b.opts.Name+": delete "+b.kp+rel, func(ctx context.Context) error {
		return b.store.Delete(ctx, b.kp+rel)
	})
	if sharestore.CodeOf(err) == sharestore.ErrNotFound {
		return nil
	}
	return err
}

// conditionalDelete returns the store as a ConditionalDeleter, or nil
// when it is not one.
func (b *chunked) conditionalDelete() ConditionalDeleter {
	cd, _ := b.store.(ConditionalDeleter)
	return cd
}

// delIf deletes one object only if it still holds version, when the
// store can make that condition and version is not "", and
// unconditionally otherwise. A missing object is success; an object
// that holds another version is ErrConflict.
func (b *chunked) delIf(ctx context.Context, rel, version string) error {
	cd := b.conditionalDelete()
	if cd == nil || version == "" {
		return b.del(ctx, rel)
	}
	b.changing(rel)
	err := b.do(ctx, sharestore.StoreDelete, b.opts.Name+": delete "+b.kp+rel+" if version "+version, func(ctx context.Context) error {
		return cd.DeleteIf(ctx, b.kp+rel, version)
	})
	if sharestore.CodeOf(err) == sharestore.ErrNotFound {
		return nil
	}
	return err
}

func (b *chunked) head(ctx context.Context, rel string) (Object, error) {
	var o Object
	err := b.do(ctx, sharestore.StoreHead, b.opts.Name+": head "+b.kp+rel, func(ctx context.Context) error {
		var err error
		o, err = b.store.Head(ctx, b.kp+rel)
		return err
	})
	return o, err
}

// --- share layouts from listings ---

// layout is a share's chunks as a listing shows them. The share's chunk
// size is the length of chunk 0. The share is chunk 0 followed by the
// contiguous run of chunks 1, 2, … up to and including the first one
// whose length differs from chunk 0's (the short last chunk). Chunk
// objects outside that run are stale leftovers of an interrupted write
// or delete: never counted, deleted by the next write of the share.
type layout struct {
	sizes   []int64 // lengths of the counted chunks, index = chunk number
	stale   []int64 // chunk numbers present but not counted
	size    int64
	modTime time.Time
	version string // chunk 0's Version
}

// info returns the ShareInfo a listing shows for the share.
func (l layout) info(si sharestore.StorageIndex, shnum int) sharestore.ShareInfo {
	return sharestore.ShareInfo{SI: si, Shnum: shnum, Size: l.size, UsedSpace: l.size, ModTime: l.modTime, Version: l.version}
}

type chunkSet map[int64]Object

// layoutOf returns the layout of a share's chunk objects, and false if
// chunk 0 is missing (then the share does not exist and every chunk is
// stale).
func layoutOf(cs chunkSet) (layout, bool) {
	var l layout
	c0, ok := cs[0]
	if !ok {
		for i := range cs {
			l.stale = append(l.stale, i)
		}
		return l, false
	}
	l.sizes = append(l.sizes, c0.Size)
	l.size, l.modTime, l.version = c0.Size, c0.ModTime, c0.Version
	if c0.Size > 0 {
		for i := int64(1); ; i++ {
			o, ok := cs[i]
			if !ok {
				break
			}
			l.sizes = append(l.sizes, o.Size)
			l.size += o.Size
			if o.ModTime.After(l.modTime) {
				l.modTime = o.ModTime
			}
			if o.Size != c0.Size {
				break
			}
		}
	}
	for i := range cs {
		if i >= int64(len(l.sizes)) {
			l.stale = append(l.stale, i)
		}
	}
	sort.Slice(l.stale, func(a, b int) bool { return l.stale[a] < l.stale[b] })
	return l, true
}

// sharesetListing groups the chunk objects of one storage index by shnum.
type sharesetListing map[int]chunkSet

func (sl sharesetListing) add(ref chunkRef, o Object) {
	cs := sl[ref.Shnum]
	if cs == nil {
		cs = chunkSet{}
		sl[ref.Shnum] = cs
	}
	cs[ref.Chunk] = o
}

// infos returns the ShareInfo of every share with a chunk 0, by shnum.
func (sl sharesetListing) infos(si sharestore.StorageIndex) []sharestore.ShareInfo {
	out := make([]sharestore.ShareInfo, 0, len(sl))
	for shnum, cs := range sl {
		l, ok := layoutOf(cs)
		if !ok {
			continue
		}
		out = append(out, l.info(si, shnum))
	}
	slices.SortFunc(out, func(a, b sharestore.ShareInfo) int { return a.ID().Compare(b.ID()) })
	return out
}

// set returns the handle of si's chunks.
func (b *chunked) set(si sharestore.StorageIndex) *shareset {
	return &shareset{b: b, si: si}
}

// AvailableSpace implements driver.Driver: object stores have no
// meaningful limit, so it is math.MaxInt64.
func (b *chunked) AvailableSpace(ctx context.Context) (int64, error) {
	return math.MaxInt64, nil
}

// Capabilities implements driver.Driver.
func (b *chunked) Capabilities() sharestore.Capabilities {
	return sharestore.Capabilities{
		Name:                  b.opts.Name,
		Version:               Version,
		MaxObjectSize:         b.opts.MaxObjectSize,
		ChunkSize:             b.opts.ChunkSize,
		ConditionalWrites:     b.opts.ConditionalWrites,
		StrongListConsistency: true,
		ConditionalDelete:     b.conditionalDelete() != nil,
	}
}

// Close implements driver.Driver. It closes the store if the store is
// an io.Closer.
func (b *chunked) Close() error {
	if c, ok := b.store.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
