// Package mem is an in-memory share store, and the smallest complete
// example of how to add a backend to sharestore.
//
// A backend over any store that can keep named byte strings needs only an
// adapter for the object-store interface cloud.ObjectStore: list one page
// of keys by prefix, ranged get, put, delete and head. cloud.New turns such
// an adapter into a full sharestore.Backend: the share layout, chunking,
// listings, mutable slots, per-storage-index locks, the DeleteShare guard,
// retries and metadata records all live in package cloud, once. Store is
// that adapter for a map in memory; New wraps it with cloud.New. Read
// store.go top to bottom as a template for your own adapter.
//
// Tests anywhere in the project may use this package: it needs no
// emulator, no disk and no network, and it passes the whole conformance
// suite.
//
// # What an adapter must do
//
//   - Keys are opaque byte strings; the layer has already applied its key
//     prefix. List returns keys in ascending byte order, within a page and
//     across pages, and Page.Next is an opaque token ("" on the last page)
//     that the next List call passes back. Pages may be any size, down to
//     one object; the layer detects a listing that stops advancing.
//   - Get(key, offset, length) returns the bytes of that range, truncated
//     at the end of the object, and every byte from offset when length is
//     negative. Put replaces the whole object atomically: a reader sees the
//     old bytes or the new ones, never a mix.
//   - Every method checks ctx (sharestore.CtxErr) and makes one attempt:
//     the layer retries what is worth retrying.
//   - Errors use the sharestore vocabulary: ErrNotFound for a missing key
//     (Get, Head; Delete may report it, the layer treats it as success),
//     ErrThrottled and ErrUnavailable for failures worth a retry,
//     ErrPermissionDenied for refused credentials, ErrConflict for a failed
//     precondition. Messages name the key and never contain a secret.
//   - Object.Version is a token that changes on every rewrite of the key
//     and that List and Head report alike for one object (S3 and Azure:
//     the ETag; GCS: the generation; here: a counter). "" means the store
//     has none; the layer then relies on its own lock alone.
//
// Optional interfaces add what the store can do: cloud.ConditionalDeleter
// (delete only if the key still holds a version, which makes a guarded
// DeleteShare safe against rewrites by other processes),
// cloud.BucketCreator (sharestore mkbucket) and io.Closer (called by the
// backend's Close). Store implements the first two.
//
// # Testing an adapter
//
// Run the backend contract suite and the crawler scenarios on a fresh
// backend per subtest. PlantObject writes straight into the store, under
// the backend's key prefix:
//
//	type harness struct{}
//
//	func (harness) NewBackend(ctx context.Context, t conformance.TB) (sharestore.Backend, error) {
//		return cloud.New(newMyStore(t), cloud.Options{Name: "mystore"})
//	}
//
//	func (harness) PlantObject(ctx context.Context, t conformance.TB, b sharestore.Backend, key string, data []byte) error {
//		cb := b.(*cloud.Backend)
//		return cb.Store().Put(ctx, cb.KeyPrefix()+key, data)
//	}
//
//	func TestConformance(t *testing.T) { conformance.RunBackend(t, harness{}) }
//	func TestCrawlers(t *testing.T)    { conformance.RunCrawlers(t, harness{}) }
package mem
