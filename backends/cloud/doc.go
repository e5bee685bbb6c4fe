// Package cloud is the one chunked-object layer that every object store
// backend (S3, GCS, Azure) shares. The adapters implement the small
// ObjectStore interface (list a page, ranged get, put, delete, head) and
// classify their errors; keys, chunking, listing, retries and per-SI
// locking live here, once.
//
// # Keys
//
// A share is stored as chunks under an optional key prefix (Tahoe S4's
// s3.prefix):
//
//	KEYPREFIX shares/PP/SI/N     chunk 0 of share N
//	KEYPREFIX shares/PP/SI/N.i   chunk i, i ≥ 1
//
// New shares use 512 KiB chunks; a share's chunk size is the length of
// its chunk 0. Share numbers and chunk numbers are canonical decimals and
// are matched exactly, so listing or deleting share 1 never touches share
// 10. Every other key in the bucket is foreign: it is never counted,
// read or deleted.
//
// docs/formats.md in the repository describes the key layout and the
// share containers the chunks hold.
//
// # Listings
//
// ListPrefix pages through one listing of KEYPREFIX shares/PP/ and sums
// the chunk sizes of each share, with no GET. A share exists exactly
// when its chunk 0 exists. Its size is chunk 0 plus the contiguous run of
// chunks 1, 2, … up to the first chunk shorter than chunk 0; chunks
// outside that run, and chunks of a shnum without chunk 0, are leftovers
// of an interrupted write or delete and are never counted (the next write
// of that shnum deletes them). A listing page that does not advance is an
// error, never an endless loop.
//
// A scan of consecutive prefixes (sharestore.Scan, which the crawlers
// use) follows Options.ListPlan. Keys sort in the crawler's prefix order,
// so under PlanRange one paged listing of KEYPREFIX shares/ yields every
// prefix in turn, and a sparse store costs one LIST per page of keys
// instead of one per prefix; PlanAuto chooses between that and one
// listing per prefix from the density earlier listings showed. Both give
// the same listings.
//
// # Order of writes
//
// Because visibility hangs on chunk 0, chunk 0 is always written last and
// deleted first:
//
//   - Immutable uploads (WriteImmutable) stream: chunk 0 stays in memory
//     while chunks 1, 2, … are PUT as they fill (memory: two chunks).
//     Close PUTs the last partial chunk, deletes stale chunks past the new
//     end, and PUTs chunk 0, which makes the whole share appear at once.
//     An interrupted upload has no chunk 0 and so never looks like a
//     share, complete or not; Abort deletes what it stored.
//   - PutRaw of a container larger than one chunk spools the input to a
//     temporary file first (so a short or long reader changes nothing),
//     then deletes the old chunk 0, PUTs chunks 1…n, deletes stale
//     chunks and PUTs chunk 0. A single-chunk container is one PUT.
//   - Mutable writes (TestAndReadAndWrite) run share.TestAndReadAndWrite
//     over a chunked file: each touched chunk is loaded, edited and PUT
//     once at commit, untouched chunks are never rewritten, chunks are
//     PUT highest first and chunk 0 (holding the header and data length)
//     last, and chunks past the container's new end are deleted
//     afterwards. A reader in another process may see a mix of old and
//     new chunks of a mutable share during a commit (as with Tahoe's
//     cloud backend); readers through one Backend cannot, since every
//     operation on a storage index holds that index's lock.
//   - DeleteShare lists the share's chunks under the lock, gives the guard
//     the share as listed (chunk 0's Version included), deletes chunk 0
//     first, conditionally on that Version when the store is a
//     ConditionalDeleter (a rewrite in between is ErrConflict and nothing
//     is deleted), and then the other chunks.
//
// # Retries and errors
//
// Every request goes through one RetryPolicy (exponential backoff with
// full jitter, bounded by attempts and elapsed time, honouring the
// context). Only ErrThrottled and ErrUnavailable are retried. A 404 on
// delete is success. Error messages name the key and never a secret.
package cloud
