// Package scratch makes the conformance suite's fresh, empty backends
// from one location that an operator names: a disk directory, a bucket
// URL with a key prefix, or any URL with the {scratch} placeholder. Each
// test gets a location of its own under it, and its data is removed
// when the test ends, whether it passed, failed or was interrupted.
package scratch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/conformance"
	"github.com/sharestore/sharestore/internal/conformance/runner"
)

// Placeholder in a location is replaced by each test's own scratch
// name. Without it, the name is added to the location's path: a
// subdirectory of a disk: path, a key prefix under a bucket URL.
const Placeholder = "{scratch}"

// Opener opens (creating it) the backend at location.
type Opener func(ctx context.Context, location string) (sharestore.Backend, error)

// Harness is a conformance.Harness whose backends are opened at scratch
// locations made from one base location. It is safe for concurrent use.
type Harness struct {
	base string
	open Opener
	run  string
	seq  atomic.Int64
	// CreateBucket, when set, is called with a scratch location before
	// it is opened when Placeholder stands in the base's bucket name, so
	// that each test gets a bucket of its own (a store whose listings
	// scan the whole bucket stays fast). The buckets are left behind,
	// empty.
	CreateBucket func(ctx context.Context, location string) error
	// NoPlant, when set, is the reason PlantObject refuses: the backends
	// are served by a plugin that offers no harness service, so nothing
	// can be written beside them.
	NoPlant string
}

// New returns the Harness of base, which must be a disk:PATH, a
// cloud URL (s3://, gs://, azblob://) or any location that contains
// Placeholder; open opens each scratch location.
func New(base string, open Opener) (*Harness, error) {
	if base == "" {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "no scratch location: give --backend, a location under which each test may make its own store")
	}
	var b [4]byte
	rand.Read(b[:])
	return &Harness{base: base, open: open, run: "conformance-" + hex.EncodeToString(b[:])}, nil
}

// Location returns the scratch location of the test numbered n: base
// with Placeholder replaced by the run's and the test's name, or that
// name added to base's path.
func (h *Harness) Location(n int64) string {
	name := fmt.Sprintf("%s-%04d", h.run, n)
	if strings.Contains(h.base, Placeholder) {
		return strings.ReplaceAll(h.base, Placeholder, name)
	}
	if rest, ok := strings.CutPrefix(h.base, "disk:"); ok {
		return "disk:" + filepath.Join(rest, name)
	}
	if u, err := url.Parse(h.base); err == nil && u.Scheme != "" && u.Host != "" {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/" + name
		return u.String()
	}
	return strings.TrimSuffix(h.base, "/") + "/" + name
}

// placeholderInBucket reports whether Placeholder is in the host part
// of a base URL.
func (h *Harness) placeholderInBucket() bool {
	_, rest, ok := strings.Cut(h.base, "://")
	host, _, _ := strings.Cut(rest, "/")
	host, _, _ = strings.Cut(host, "?")
	return ok && strings.Contains(host, Placeholder)
}

// NewBackend opens a new scratch location, and registers with t the
// removal of everything stored there.
func (h *Harness) NewBackend(ctx context.Context, t conformance.TB) (sharestore.Backend, error) {
	loc := h.Location(h.seq.Add(1))
	if h.CreateBucket != nil && h.placeholderInBucket() {
		if err := h.CreateBucket(ctx, loc); err != nil {
			return nil, err
		}
	}
	b, err := h.open(ctx, loc)
	if err != nil {
		return nil, err
	}
	switch b.(type) {
	case *disk.Backend, *cloud.Backend:
		t.Cleanup(func() {
			if err := h.remove(context.WithoutCancel(ctx), loc); err != nil {
				t.Errorf("remove scratch store %s: %v", loc, err)
			}
		})
		return b, nil
	}
	// Any other backend (a plugin's) is emptied through itself when it
	// is closed, or when the test ends if it never was, rather than
	// started once more for the purpose.
	r := &removeOnClose{Backend: b, ctx: context.WithoutCancel(ctx)}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("remove scratch store %s: %v", loc, err)
		}
	})
	return r, nil
}

// removeOnClose deletes every share of its backend before closing it,
// once. It is a sharestore.Wrapper, so the fast paths of what it wraps
// stay in reach.
type removeOnClose struct {
	sharestore.Backend
	ctx  context.Context
	once sync.Once
	err  error
}

// Unwrap returns the wrapped backend.
func (r *removeOnClose) Unwrap() sharestore.Backend { return r.Backend }

// Close removes every share, then closes the backend; later calls
// return the wrapped backend's Close error, as after a Close.
func (r *removeOnClose) Close() error {
	done := false
	r.once.Do(func() {
		done = true
		r.err = errors.Join(removeShares(r.ctx, r.Backend), r.Backend.Close())
	})
	if !done {
		return r.Backend.Close()
	}
	return r.err
}

// PlantObject writes key beside b: a file under a disk store's root, or
// one object under a cloud backend's key prefix. Any other backend, or
// a Harness with NoPlant, gives ErrUnimplemented, and the suite skips
// the test with that reason.
func (h *Harness) PlantObject(ctx context.Context, t conformance.TB, b sharestore.Backend, key string, data []byte) error {
	if h.NoPlant != "" {
		return sharestore.Errorf(sharestore.ErrUnimplemented, "%s", h.NoPlant)
	}
	switch x := b.(type) {
	case *disk.Backend:
		p := filepath.Join(x.Root(), filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, data, 0o644)
	case *cloud.Backend:
		return x.Store().Put(ctx, x.KeyPrefix()+key, data)
	}
	return sharestore.Errorf(sharestore.ErrUnimplemented, "cannot plant raw objects beside a %T", b)
}

// remove removes everything stored at the scratch location loc, after
// the test has closed its backend: a disk store's whole directory; every
// object under a cloud backend's key prefix; and for any other backend
// (one served by a plugin without a harness), every share it lists,
// through a backend opened on loc once more.
func (h *Harness) remove(ctx context.Context, loc string) error {
	if rest, ok := strings.CutPrefix(loc, "disk:"); ok {
		return runner.RemoveAll(rest)
	}
	b, err := h.open(ctx, loc)
	if err != nil {
		return err
	}
	defer b.Close()
	if cb, ok := b.(*cloud.Backend); ok {
		return removeKeys(ctx, cb.Store(), cb.KeyPrefix())
	}
	return removeShares(ctx, b)
}

// removeKeys deletes every object whose key starts with prefix.
func removeKeys(ctx context.Context, st cloud.ObjectStore, prefix string) error {
	if prefix == "" {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "refusing to empty a whole bucket: the scratch location has no key prefix")
	}
	for {
		// Deleting from the first page until it is empty needs no token
		// that a delete could invalidate.
		pg, err := st.List(ctx, prefix, "")
		if err != nil {
			return err
		}
		if len(pg.Objects) == 0 {
			return nil
		}
		for _, o := range pg.Objects {
			if err := st.Delete(ctx, o.Key); err != nil && !errors.Is(err, sharestore.ErrNotFound) {
				return err
			}
		}
	}
}

// removeShares deletes every share b lists.
func removeShares(ctx context.Context, b sharestore.Backend) error {
	for _, p := range sharestore.Prefixes() {
		var ids []sharestore.ShareID
		err := b.ListPrefix(ctx, p, func(i sharestore.ShareInfo) error {
			ids = append(ids, sharestore.ShareID{SI: i.SI, Shnum: i.Shnum})
			return nil
		})
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := b.Shareset(id.SI).DeleteShare(ctx, id.Shnum, nil); err != nil {
				return err
			}
		}
	}
	return nil
}
