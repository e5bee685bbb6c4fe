// Package driver is the one layer under the sharestore.Backend contract.
// A backend implements the narrow Driver interface, and New turns it into
// a complete sharestore.Backend. Everything that is the same for every
// backend is done here, once:
//
//   - argument validation: prefixes, share numbers (0 to MaxShnum),
//     offsets, lengths, sizes, slot requests and metadata record names,
//     all ErrInvalidArgument (ErrOutOfRange for oversized slot writes);
//   - the closed check: after Close, every call fails with an error of
//     class ErrInvalidArgument whose message says the backend is closed;
//   - context checks on entry to every call, and again after a guard;
//   - read-only refusal (Options.ReadOnly or the driver's own
//     Capabilities().ReadOnly): every mutation is ErrPermissionDenied;
//   - the per-storage-index lock (Tahoe #1869) around Shares, Share,
//     ReadShareData, DeleteShare, TestAndReadAndWrite, the commit of
//     PutRaw and the Close of an immutable upload, and the registry of
//     uploads in progress, so a second WriteImmutable or PutRaw of a share
//     already being written through this Backend is ErrConflict;
//   - the DeleteShare guard, run under the lock on the driver's Stat;
//   - the immutable writer's rules (no write after Close or Abort, no
//     write that goes backwards, none past the allocated size) and
//     PutRaw's rule that the reader yields exactly size bytes;
//   - the mutable slot operation (share.TestAndReadAndWrite) over a
//     driver's share.SlotStore;
//   - dispatch to the optional fast paths (sharestore.PrefixScanner,
//     sharestore.HeaderReader, HeaderGroupReader, sharestore.MetaStore)
//     with the generic fallbacks when a driver has none.
//
// The driver, in turn, only stores and finds bytes. Two kinds of driver
// exist in this module: backends/disk implements Driver directly over
// files (Tahoe's layout, in-place mutable writes), and backends/cloud
// implements it over the still smaller cloud.ObjectStore interface (list
// a page, ranged get, put, delete, head), which is the interface a
// third-party object or key-value store usually wants: see backends/mem
// for the smallest complete example.
//
// The share layout every backend in this module uses is
//
//	shares/PP/SI/N      share N of storage index SI (PP: SI's prefix)
//	shares/PP/SI/N.i    chunk i ≥ 1 of a chunked share (object stores)
//
// with N and i in canonical decimal. SharePath, ChunkName and ParseShnum
// are that layout, written once. docs/backends.md in the repository is
// the guide for authors of a new backend.
package driver
