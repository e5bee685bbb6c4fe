package cloud

import (
	"context"
	"time"
)

// Object is one listed or inspected object.
type Object struct {
	// Key is the object's full key in the bucket or container.
	Key string
	// Size is the object's length in bytes.
	Size int64
	// ModTime is the last-modified time the store reports.
	ModTime time.Time
	// Version is the store's token for this content of the object, ""
	// if it gives none: the ETag in S3 and Azure, the decimal
	// generation in GCS. Every rewrite of the key changes it (an S3
	// ETag only if the bytes change). List and Head report the same
	// token for one object.
	Version string
}

// Page is one page of a listing.
type Page struct {
	// Objects are the page's objects in ascending key order.
	Objects []Object
	// Next is the opaque token of the next page, or "" when this page is
	// the last.
	Next string
}

// ObjectStore is the small, public interface an object or key-value store
// implements to become a sharestore backend: New adds everything else
// (the share layout, chunking, paged listings, retries, and the shared
// layer's locks, guards and validation). S3, GCS and Azure implement it
// in this module; third-party stores are supported on the same terms
// (see backends/mem for the smallest complete adapter, and
// conformance.CloudHarness to certify one).
//
// Keys are full keys: the layer has already applied its key prefix.
// Every method honours ctx and does exactly one attempt at the request
// (SDK-internal retries turned down), because the layer retries. Errors
// are classified into the sharestore vocabulary, from the HTTP status
// with ClassifyStatus, from what the SDK's error says with ClassifyError,
// or with a mapping of the adapter's own:
// ErrNotFound for a missing object or bucket (404),
// ErrThrottled for throttling (S3 SlowDown/503, GCS 429, Azure
// ServerBusy/503), ErrUnavailable for other 5xx and network failures,
// ErrPermissionDenied for 401/403, and ErrCanceled/ErrDeadlineExceeded
// when ctx ended. Error messages must never contain a secret.
type ObjectStore interface {
	// List returns one page of the objects whose keys start with
	// prefix, starting after the page that token names ("" for the
	// first page). Keys are in ascending byte order within and across
	// pages.
	List(ctx context.Context, prefix, token string) (Page, error)

	// Get returns length bytes of key starting at offset, or every byte
	// from offset to the end if length is negative. A range that passes
	// the end of the object is truncated. A missing key is ErrNotFound.
	Get(ctx context.Context, key string, offset, length int64) ([]byte, error)

	// Put stores data as the whole content of key, replacing any
	// object with that key. The object appears atomically.
	Put(ctx context.Context, key string, data []byte) error

	// Delete removes key. A missing key may be reported as ErrNotFound;
	// the layer treats that as success.
	Delete(ctx context.Context, key string) error

	// Head returns the size and modification time of key, or
	// ErrNotFound.
	Head(ctx context.Context, key string) (Object, error)
}

// ConditionalDeleter is implemented by adapters whose store can delete an
// object only if it is still the version a listing or Head reported.
type ConditionalDeleter interface {
	// DeleteIf removes key only if its current Version is version. A
	// key that holds another version (the store's precondition failed,
	// HTTP 412) is ErrConflict and stays; a missing key may be
	// ErrNotFound, which the layer treats as success. version is never
	// "".
	DeleteIf(ctx context.Context, key, version string) error
}

// BucketCreator is implemented by adapters that can create their bucket
// or container (sharestore mkbucket).
type BucketCreator interface {
	// CreateBucket creates the bucket or container. One that already
	// exists and is owned by the caller is not an error.
	CreateBucket(ctx context.Context) error
}
