package cloud

import (
	"context"

	"github.com/sharestore/sharestore"
)

var _ sharestore.MetaStore = (*Backend)(nil)

// ReadMeta implements sharestore.MetaStore: the record is the object
// KEYPREFIX/name, next to shares/, which listings of shares never see.
func (b *Backend) ReadMeta(ctx context.Context, name string) ([]byte, error) {
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	if err := sharestore.CheckMeta(name, 0); err != nil {
		return nil, err
	}
	data, err := b.get(ctx, name, 0, sharestore.MaxMetaSize+1)
	if err != nil {
		return nil, err
	}
	if len(data) > sharestore.MaxMetaSize {
		return nil, sharestore.Errorf(sharestore.ErrCorrupt, "%s: metadata record %s%s is larger than %d bytes", b.opts.Name, b.kp, name, sharestore.MaxMetaSize)
	}
	return data, nil
}

// WriteMeta implements sharestore.MetaStore with one PUT of
// KEYPREFIX/name.
func (b *Backend) WriteMeta(ctx context.Context, name string, data []byte) error {
	if err := b.check(ctx); err != nil {
		return err
	}
	if err := sharestore.CheckMeta(name, len(data)); err != nil {
		return err
	}
	return b.put(ctx, name, data)
}
