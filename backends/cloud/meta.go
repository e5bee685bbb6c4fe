package cloud

import (
	"context"

	"github.com/sharestore/sharestore"
)

var _ sharestore.MetaStore = (*chunked)(nil)

// ReadMeta implements sharestore.MetaStore for the shared layer (which
// has checked name): the record is the object
// KEYPREFIX/name, next to shares/, which listings of shares never see.
func (b *chunked) ReadMeta(ctx context.Context, name string) ([]byte, error) {
	data, err := b.get(ctx, name, 0, sharestore.MaxMetaSize+1)
	if err != nil {
		return nil, err
	}
	if len(data) > sharestore.MaxMetaSize {
		return nil, sharestore.Errorf(sharestore.ErrCorrupt, "%s: metadata record %s%s is larger than %d bytes", b.opts.Name, b.kp, name, sharestore.MaxMetaSize)
	}
	return data, nil
}

// WriteMeta implements sharestore.MetaStore for the shared layer with one PUT of
// KEYPREFIX/name.
func (b *chunked) WriteMeta(ctx context.Context, name string, data []byte) error {
	return b.put(ctx, name, data)
}
