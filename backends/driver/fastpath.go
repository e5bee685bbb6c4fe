package driver

import (
	"context"
	"sync"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/internal/workerpool"
)

// ScanPrefixes implements sharestore.PrefixScanner: the driver's own scan
// when it is a sharestore.PrefixScanner, and otherwise one ListPrefix (or
// SharesetsForPrefix) of b per prefix.
func (b *Backend) ScanPrefixes(ctx context.Context, first sharestore.Prefix, opts sharestore.ScanOptions) (sharestore.PrefixScan, error) {
	if err := b.checkPrefix(ctx, first); err != nil {
		return nil, err
	}
	if s, ok := b.d.(sharestore.PrefixScanner); ok {
		return s.ScanPrefixes(ctx, first, opts)
	}
	return sharestore.NewListScan(ctx, first, opts, func(ctx context.Context, p sharestore.Prefix) (sharestore.PrefixListing, error) {
		return sharestore.ListOne(ctx, b, p, opts.Sharesets)
	})
}

// ReadHeaders implements sharestore.HeaderReader. A driver that is a
// sharestore.HeaderReader gets the whole batch. Otherwise the ids are
// grouped by storage index and sharestore.DefaultHeaderWorkers groups are
// read at a time, each under its storage index's lock: with the driver's
// ReadHeaderGroup when it is a HeaderGroupReader, and with its Share for
// each id otherwise. fn is called outside every lock, from one goroutine
// at a time. An invalid share number is reported to fn as
// ErrInvalidArgument.
func (b *Backend) ReadHeaders(ctx context.Context, ids []sharestore.ShareID, fn func(sharestore.ShareID, sharestore.Share, error)) error {
	if err := b.check(ctx); err != nil {
		return err
	}
	if h, ok := b.d.(sharestore.HeaderReader); ok {
		return h.ReadHeaders(ctx, ids, fn)
	}
	var mu sync.Mutex
	report := func(id sharestore.ShareID, sh sharestore.Share, err error) {
		mu.Lock()
		fn(id, sh, err)
		mu.Unlock()
	}
	if err := workerpool.Each(ctx, groupBySI(ids), sharestore.DefaultHeaderWorkers, func(g []sharestore.ShareID) {
		b.readGroup(ctx, g, report)
	}); err != nil {
		return sharestore.CtxErr(ctx)
	}
	return b.check(ctx)
}

// groupBySI splits ids into runs of one storage index each, in the order
// each storage index first appears.
func groupBySI(ids []sharestore.ShareID) [][]sharestore.ShareID {
	var groups [][]sharestore.ShareID
	at := map[sharestore.StorageIndex]int{}
	for _, id := range ids {
		g, ok := at[id.SI]
		if !ok {
			g = len(groups)
			at[id.SI] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], id)
	}
	return groups
}

// readGroup reads the headers of ids, which share one storage index,
// under its lock, and reports them once the lock is released (fn may
// call the backend).
func (b *Backend) readGroup(ctx context.Context, ids []sharestore.ShareID, report func(sharestore.ShareID, sharestore.Share, error)) {
	shares := make([]sharestore.Share, len(ids))
	errs := make([]error, len(ids))
	b.readGroupLocked(ctx, ids, shares, errs)
	for i, id := range ids {
		report(id, shares[i], errs[i])
	}
}

func (b *Backend) readGroupLocked(ctx context.Context, ids []sharestore.ShareID, shares []sharestore.Share, errs []error) {
	var valid []int // indexes into ids
	for i, id := range ids {
		if err := CheckShnum(id.Shnum); err != nil {
			errs[i] = err
			continue
		}
		valid = append(valid, i)
	}
	if len(valid) == 0 {
		return
	}
	si := ids[0].SI
	unlock, err := b.locks.Lock(ctx, si)
	if err != nil {
		for _, i := range valid {
			errs[i] = err
		}
		return
	}
	defer unlock()
	if g, ok := b.d.(HeaderGroupReader); ok {
		shnums := make([]int, len(valid))
		for j, i := range valid {
			shnums[j] = ids[i].Shnum
		}
		sh, es := g.ReadHeaderGroup(ctx, si, shnums)
		for j, i := range valid {
			shares[i], errs[i] = sh[j], es[j]
		}
		return
	}
	for _, i := range valid {
		if err := sharestore.CtxErr(ctx); err != nil {
			errs[i] = err
			continue
		}
		shares[i], errs[i] = b.d.Share(ctx, si, ids[i].Shnum)
	}
}

// ReadMeta implements sharestore.MetaStore: the driver's, when it is a
// sharestore.MetaStore, and ErrUnimplemented otherwise.
func (b *Backend) ReadMeta(ctx context.Context, name string) ([]byte, error) {
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	if err := sharestore.CheckMeta(name, 0); err != nil {
		return nil, err
	}
	ms, ok := b.d.(sharestore.MetaStore)
	if !ok {
		return nil, sharestore.Errorf(sharestore.ErrUnimplemented, "%s: this backend keeps no metadata records", b.opts.Name)
	}
	return ms.ReadMeta(ctx, name)
}

// WriteMeta implements sharestore.MetaStore: the driver's, when it is a
// sharestore.MetaStore and b is writable; ErrUnimplemented when the
// driver keeps no records, ErrPermissionDenied when b is read-only.
func (b *Backend) WriteMeta(ctx context.Context, name string, data []byte) error {
	if err := b.check(ctx); err != nil {
		return err
	}
	if err := sharestore.CheckMeta(name, len(data)); err != nil {
		return err
	}
	ms, ok := b.d.(sharestore.MetaStore)
	if !ok {
		return sharestore.Errorf(sharestore.ErrUnimplemented, "%s: this backend keeps no metadata records", b.opts.Name)
	}
	if b.readOnly() {
		return sharestore.Errorf(sharestore.ErrPermissionDenied, "%s: backend is read-only", b.opts.Name)
	}
	return ms.WriteMeta(ctx, name, data)
}
