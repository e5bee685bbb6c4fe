package driver

import (
	"context"
	"sync"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/internal/silock"
)

// Options configure the shared layer of a Backend.
type Options struct {
	// Name begins every message the layer writes, such as "disk" or
	// "s3"; "" means the driver's Capabilities().Name.
	Name string
	// ReadOnly makes every mutation fail with ErrPermissionDenied and
	// AvailableSpace report 0, whatever the driver could do.
	ReadOnly bool
}

// Backend is a sharestore.Backend over a Driver. It is safe for
// concurrent use when the driver is. Besides the contract it implements
// sharestore.PrefixScanner, sharestore.HeaderReader and
// sharestore.MetaStore: each uses the driver's fast path when the driver
// has one, and otherwise the generic way (one listing per prefix, one
// Share per header, ErrUnimplemented for metadata).
type Backend struct {
	d    Driver
	opts Options
	slot SlotOperator
	ss   SlotDriver

	locks silock.Map[sharestore.StorageIndex]

	mu       sync.Mutex
	closed   bool
	incoming map[sharestore.ShareID]bool
}

var (
	_ sharestore.Backend       = (*Backend)(nil)
	_ sharestore.PrefixScanner = (*Backend)(nil)
	_ sharestore.HeaderReader  = (*Backend)(nil)
	_ sharestore.MetaStore     = (*Backend)(nil)
)

// New returns the Backend over d. d must be a SlotDriver or a
// SlotOperator; otherwise New fails with ErrInvalidArgument.
func New(d Driver, opts Options) (*Backend, error) {
	if d == nil {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "driver: nil driver")
	}
	if opts.Name == "" {
		opts.Name = d.Capabilities().Name
	}
	b := &Backend{d: d, opts: opts, incoming: map[sharestore.ShareID]bool{}}
	b.slot, _ = d.(SlotOperator)
	b.ss, _ = d.(SlotDriver)
	if b.slot == nil && b.ss == nil {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "driver: %s implements neither SlotDriver nor SlotOperator", opts.Name)
	}
	return b, nil
}

// Driver returns the driver b was made with.
func (b *Backend) Driver() Driver { return b.d }

// Name returns the name that begins b's messages.
func (b *Backend) Name() string { return b.opts.Name }

// check fails when ctx is done or b is closed.
func (b *Backend) check(ctx context.Context) error {
	if err := sharestore.CtxErr(ctx); err != nil {
		return err
	}
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: backend is closed", b.opts.Name)
	}
	return nil
}

// checkWrite is check for a mutation: a read-only backend refuses it.
func (b *Backend) checkWrite(ctx context.Context) error {
	if err := b.check(ctx); err != nil {
		return err
	}
	if b.readOnly() {
		return sharestore.Errorf(sharestore.ErrPermissionDenied, "%s: backend is read-only", b.opts.Name)
	}
	return nil
}

func (b *Backend) readOnly() bool { return b.opts.ReadOnly || b.d.Capabilities().ReadOnly }

// checkPrefix is check plus the validity of p.
func (b *Backend) checkPrefix(ctx context.Context, p sharestore.Prefix) error {
	if err := b.check(ctx); err != nil {
		return err
	}
	if !p.Valid() {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "%s: invalid prefix %q", b.opts.Name, string(p))
	}
	return nil
}

// CheckShnum returns ErrInvalidArgument unless 0 ≤ shnum ≤ MaxShnum.
func CheckShnum(shnum int) error {
	if shnum < 0 || shnum > MaxShnum {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "share number %d is outside 0..%d", shnum, MaxShnum)
	}
	return nil
}

// ListPrefix implements sharestore.Backend.
func (b *Backend) ListPrefix(ctx context.Context, p sharestore.Prefix, fn func(sharestore.ShareInfo) error) error {
	if err := b.checkPrefix(ctx, p); err != nil {
		return err
	}
	return b.d.ListPrefix(ctx, p, fn)
}

// SharesetsForPrefix implements sharestore.Backend.
func (b *Backend) SharesetsForPrefix(ctx context.Context, p sharestore.Prefix) ([]sharestore.StorageIndex, error) {
	if err := b.checkPrefix(ctx, p); err != nil {
		return nil, err
	}
	out, err := b.d.SharesetsForPrefix(ctx, p)
	if err == nil && out == nil {
		out = []sharestore.StorageIndex{}
	}
	return out, err
}

// Shareset implements sharestore.Backend.
func (b *Backend) Shareset(si sharestore.StorageIndex) sharestore.Shareset {
	return &shareset{b: b, si: si}
}

// AvailableSpace implements sharestore.Backend: 0 when read-only, and the
// driver's answer otherwise.
func (b *Backend) AvailableSpace(ctx context.Context) (int64, error) {
	if err := b.check(ctx); err != nil {
		return 0, err
	}
	if b.readOnly() {
		return 0, nil
	}
	return b.d.AvailableSpace(ctx)
}

// Capabilities implements sharestore.Backend: the driver's, with
// ReadOnly set when Options.ReadOnly is.
func (b *Backend) Capabilities() sharestore.Capabilities {
	c := b.d.Capabilities()
	c.ReadOnly = c.ReadOnly || b.opts.ReadOnly
	return c
}

// Close implements sharestore.Backend. The first call closes the driver
// and returns its error; later calls return nil. Every other call after
// Close fails with an error of class ErrInvalidArgument.
func (b *Backend) Close() error {
	b.mu.Lock()
	already := b.closed
	b.closed = true
	b.mu.Unlock()
	if already {
		return nil
	}
	return b.d.Close()
}

// claim registers an upload of id in progress, or fails with
// ErrConflict when one is.
func (b *Backend) claim(id sharestore.ShareID) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.incoming[id] {
		return sharestore.Errorf(sharestore.ErrConflict, "%s: share %s/%d is already being written", b.opts.Name, id.SI, id.Shnum)
	}
	b.incoming[id] = true
	return nil
}

// Writing reports whether an upload of share shnum of si (WriteImmutable
// or PutRaw) is in progress through b.
func (b *Backend) Writing(si sharestore.StorageIndex, shnum int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.incoming[sharestore.ShareID{SI: si, Shnum: shnum}]
}

func (b *Backend) unclaim(id sharestore.ShareID) {
	b.mu.Lock()
	delete(b.incoming, id)
	b.mu.Unlock()
}
