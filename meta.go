package sharestore

import "context"

// MetaStore is an optional interface of a Backend: a few small named
// records kept beside the shares but outside the share layout (on disk,
// files in the storage directory next to shares/; in a bucket, objects
// under the key prefix next to shares/). No listing, crawl, count or
// share delete ever sees them. sharestore keeps the store's ownership
// marker there (which lease database may collect the store's garbage).
//
// Names are MetaName-valid. Callers find the interface with MetaStoreOf,
// which looks through wrappers.
type MetaStore interface {
	// ReadMeta returns the record's bytes, or ErrNotFound when there is
	// none.
	ReadMeta(ctx context.Context, name string) ([]byte, error)
	// WriteMeta stores data as the record, replacing any earlier one
	// atomically: a reader sees the old bytes or the new ones.
	WriteMeta(ctx context.Context, name string, data []byte) error
}

// MaxMetaSize is the largest record a MetaStore must accept.
const MaxMetaSize = 64 << 10

// ValidMetaName reports whether name may name a MetaStore record: 1 to
// 64 characters from a-z, 0-9, '.', '_' and '-', starting with a letter
// or digit, and not "shares".
func ValidMetaName(name string) bool {
	if name == "" || len(name) > 64 || name == "shares" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// CheckMeta returns ErrInvalidArgument for an invalid record name or a
// record larger than MaxMetaSize, and nil otherwise. Implementations
// call it first.
func CheckMeta(name string, size int) error {
	if !ValidMetaName(name) {
		return Errorf(ErrInvalidArgument, "metadata record name %q: want 1-64 characters of a-z, 0-9, '.', '_', '-'", clip(name))
	}
	if size > MaxMetaSize {
		return Errorf(ErrInvalidArgument, "metadata record %s: %d bytes, more than %d", name, size, MaxMetaSize)
	}
	return nil
}

// MetaStoreOf returns b's MetaStore: that of the first backend in b's
// Unwrap chain (see Wrapper) that keeps records, or false when none
// does. A wrapper made by Intercept on the way passes the records'
// requests to its hook.
func MetaStoreOf(b Backend) (MetaStore, bool) {
	var m MetaStore
	walk(b, func(l Backend) bool {
		if ib, ok := l.(*intercepted); ok {
			if inner, ok := MetaStoreOf(ib.b); ok {
				m = interceptedMeta{ib: ib, m: inner}
			}
			return true
		}
		m, _ = l.(MetaStore)
		return m != nil
	})
	return m, m != nil
}
