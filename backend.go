package sharestore

import (
	"context"
	"io"
	"time"
)

// ShareType is the kind of a share container. The numeric values are the
// SHARETYPE_* constants of Tahoe's leasedb.
type ShareType int

// Share types.
const (
	ShareTypeImmutable ShareType = 0
	ShareTypeMutable   ShareType = 1
	ShareTypeCorrupt   ShareType = 2
	ShareTypeUnknown   ShareType = 3
)

// String returns "immutable", "mutable", "corrupt" or "unknown".
func (t ShareType) String() string {
	switch t {
	case ShareTypeImmutable:
		return "immutable"
	case ShareTypeMutable:
		return "mutable"
	case ShareTypeCorrupt:
		return "corrupt"
	}
	return "unknown"
}

// ShareInfo describes one stored share as a listing sees it, without
// opening or reading the share.
type ShareInfo struct {
	SI    StorageIndex
	Shnum int
	// Size is the number of stored container bytes (header, data and
	// legacy leases; for a chunked share, the sum of its chunks).
	Size int64
	// UsedSpace is what the share costs the backend: st_blocks*512 on
	// disk, Size in an object store.
	UsedSpace int64
	// ModTime is the last modification time the backend reports.
	ModTime time.Time
	// Version is an opaque token that changes whenever the share is
	// rewritten, when the backend's listing gives one: the ETag of chunk
	// 0 in S3 and Azure, the decimal generation of chunk 0 in GCS. It is
	// "" when the backend has none (disk). Two listings of one share
	// with equal non-empty Versions saw the same stored share.
	Version string
}

// SameShare reports whether cur is the share that was listed as s: the
// same (SI, shnum), Size and ModTime, and the same Version when both
// have one. A rewritten share differs in at least one of them wherever
// the backend's clock or version token tells rewrites apart.
func (s ShareInfo) SameShare(cur ShareInfo) bool {
	if s.SI != cur.SI || s.Shnum != cur.Shnum || s.Size != cur.Size || !s.ModTime.Equal(cur.ModTime) {
		return false
	}
	return s.Version == "" || cur.Version == "" || s.Version == cur.Version
}

// ID returns the share's (SI, shnum) pair.
func (s ShareInfo) ID() ShareID { return ShareID{SI: s.SI, Shnum: s.Shnum} }

// Share describes a share whose container header has been parsed.
type Share struct {
	ShareInfo
	// Type is ShareTypeImmutable or ShareTypeMutable.
	Type ShareType
	// Version is the container version: 1 or 2.
	Version int
	// DataLength is the number of share data bytes, excluding the
	// header and leases.
	DataLength int64
}

// ReadRange is one (offset, length) element of a read vector.
type ReadRange struct {
	Offset int64
	Length int64
}

// TestOp is the comparison operator of a test vector element.
type TestOp string

// The six test operators of Tahoe's slot_testv_and_readv_and_writev. They
// compare byte strings lexicographically: stored <op> specimen.
const (
	OpLT TestOp = "lt"
	OpLE TestOp = "le"
	OpEQ TestOp = "eq"
	OpNE TestOp = "ne"
	OpGE TestOp = "ge"
	OpGT TestOp = "gt"
)

// TestVector is one element of a mutable test vector: the stored bytes at
// [Offset, Offset+Length) (clamped to the data, so a missing share reads
// as empty) are compared with Specimen using Op.
type TestVector struct {
	Offset   int64
	Length   int64
	Op       TestOp
	Specimen []byte
}

// DataVector is one element of a mutable write vector: write Data at
// Offset of the share data.
type DataVector struct {
	Offset int64
	Data   []byte
}

// TestAndWrite is the test-and-write request for one share number of a
// mutable slot.
type TestAndWrite struct {
	Shnum  int
	Tests  []TestVector
	Writes []DataVector
	// NewLength, when non-nil, truncates the data to *NewLength if that
	// is shorter than the data after the writes. It never extends. Zero
	// deletes the share.
	NewLength *int64
}

// WriteEnabler is the 32-byte secret that authorises writes to a mutable
// slot.
type WriteEnabler [32]byte

// NodeID is a 20-byte Tahoe server ID, recorded in mutable containers next
// to the write enabler.
type NodeID [20]byte

// String returns the 32-character base32 form Tahoe uses for node IDs.
func (n NodeID) String() string { return Encoding.EncodeToString(n[:]) }

// Capabilities describes what a backend is and can do.
type Capabilities struct {
	// Name is the backend kind, such as "disk" or "s3".
	Name string `json:"name"`
	// Version is the backend implementation's version.
	Version string `json:"version"`
	// MaxObjectSize is the largest single stored object, or 0 if there
	// is no limit.
	MaxObjectSize int64 `json:"max_object_size"`
	// ChunkSize is the size new shares are chunked into, or 0 if shares
	// are stored whole.
	ChunkSize int64 `json:"chunk_size"`
	// ConditionalWrites reports whether the store can create an object
	// only if it does not exist.
	ConditionalWrites bool `json:"conditional_writes"`
	// StrongListConsistency reports whether a listing always reflects
	// every completed write and delete.
	StrongListConsistency bool `json:"strong_list_consistency"`
	// ReadOnly reports that every mutation fails with
	// ErrPermissionDenied.
	ReadOnly bool `json:"read_only"`
	// ConditionalDelete reports that DeleteShare's final delete is itself
	// conditional on the share's Version (a GCS generation precondition,
	// an Azure or S3 If-Match on chunk 0), so a share rewritten by another
	// process after the guard ran is refused by the store, not deleted.
	// Without it the guard's check under the storage index's lock is the
	// only protection, and a rewrite by another process in the instant
	// between that check and the delete is not detected.
	ConditionalDelete bool `json:"conditional_delete"`
}

// Backend is the contract every share store honours: local disk, object
// stores, and plugins. Every method takes a context, stops early when it
// is canceled (returning an error for which errors.Is(err,
// context.Canceled) holds), and returns errors from the closed vocabulary
// (see Code).
type Backend interface {
	// ListPrefix calls fn once for every share stored under prefix, in
	// (SI, shnum) order, from listings alone: it opens and reads no
	// share. It streams: implementations hold at most one shareset's
	// entries (disk: one prefix directory) at a time. If fn returns an
	// error, ListPrefix stops and returns it unchanged. An invalid prefix
	// is ErrInvalidArgument; a prefix with no shares is not an error.
	ListPrefix(ctx context.Context, prefix Prefix, fn func(ShareInfo) error) error

	// SharesetsForPrefix returns the sorted storage indexes that have
	// at least one stored share (or, on disk, a directory) under prefix.
	SharesetsForPrefix(ctx context.Context, prefix Prefix) ([]StorageIndex, error)

	// Shareset returns the handle for si. It always succeeds, even when
	// nothing is stored under si.
	Shareset(si StorageIndex) Shareset

	// AvailableSpace returns the bytes available for new shares: 0 when
	// the backend is read-only, and math.MaxInt64 when the backend has
	// no meaningful limit.
	AvailableSpace(ctx context.Context) (int64, error)

	// Capabilities describes the backend. It does no I/O.
	Capabilities() Capabilities

	// Close releases the backend's resources. After Close, every call
	// that would reach the store (ListPrefix, SharesetsForPrefix,
	// AvailableSpace, the methods of its sharesets, the optional
	// interfaces) returns an error of class ErrInvalidArgument
	// ("backend is closed"); Shareset and Capabilities still answer,
	// since they do no I/O.
	Close() error
}

// Guard is a precondition that DeleteShare evaluates while it holds the
// storage index's lock, immediately before it deletes. current is the
// share as the backend lists it at that moment, looked up under the lock
// the way ListPrefix would see it (disk: an lstat of the share file;
// object stores: a listing of the share's chunks, with Size summed as
// ListPrefix sums it and Version taken from chunk 0). A guard typically
// compares current with what an earlier listing showed
// (ShareInfo.SameShare) and checks whatever else makes the share
// garbage. A non-nil error aborts the delete and is returned unchanged.
type Guard func(ctx context.Context, current ShareInfo) error

// Shareset is the set of shares one backend holds under one storage
// index. All mutations of one storage index are serialized by one lock
// (Tahoe #1869): Shares, Share, DeleteShare, TestAndReadAndWrite and
// PutRaw take it, and so does ImmutableWriter.Close when it makes the
// share visible. Shares takes it like the others, so it never sees a
// mutable share half-way through a TestAndReadAndWrite made through the
// same backend.
type Shareset interface {
	// StorageIndex returns the shareset's storage index.
	StorageIndex() StorageIndex

	// Shares returns the completed shares, sorted by shnum, with each
	// container classified from its header, plus the sorted shnums of
	// shares whose header cannot be parsed. Shares in progress are not
	// included. It reads at most each share's header.
	Shares(ctx context.Context) (shares []Share, corrupt []int, err error)

	// Share returns one share. A missing share is ErrNotFound; a share
	// whose header cannot be parsed is ErrCorrupt with the reason.
	Share(ctx context.Context, shnum int) (Share, error)

	// ReadShareData returns share data bytes [offset, offset+length),
	// clamped to the data length as Tahoe does: a read past the end is
	// truncated and a read that starts at or past the end returns no
	// bytes. A negative offset or length is ErrInvalidArgument.
	ReadShareData(ctx context.Context, shnum int, offset, length int64) ([]byte, error)

	// DeleteShare deletes one share and nothing else: never another
	// shnum, and never anything outside the share store. Deleting a share
	// that does not exist succeeds. If guard is non-nil, DeleteShare
	// takes the storage index's lock, looks up the share's current
	// listing information, and, if the share exists, runs guard with it
	// just before the delete; an error from guard aborts the delete and
	// is returned unchanged. A share that does not exist is nil and the
	// guard is not called. Where Capabilities.ConditionalDelete holds,
	// the delete itself is conditional on the Version the guard saw, and
	// a share rewritten in between is ErrConflict and stays.
	DeleteShare(ctx context.Context, shnum int, guard Guard) error

	// WriteImmutable starts writing a new immutable share with room for
	// allocated data bytes. The share is invisible to every reader until
	// Close returns nil; Abort, a failed Close, or a crash leaves nothing
	// visible. A share that already exists, or is already being written
	// through this backend, is ErrConflict.
	WriteImmutable(ctx context.Context, shnum int, allocated int64) (ImmutableWriter, error)

	// TestAndReadAndWrite is Tahoe's mutable slot operation
	// (slot_testv_and_readv_and_writev), atomic per storage index. It
	// checks the write enabler against every existing mutable share
	// (ErrPermissionDenied with Tahoe's message on mismatch), evaluates
	// the test vectors in order, gathers reads from every existing
	// mutable share before any write, and applies the writes only if
	// every test passed. It returns whether the tests passed and the
	// reads, keyed by shnum.
	TestAndReadAndWrite(ctx context.Context, we WriteEnabler, tw []TestAndWrite, reads []ReadRange) (bool, map[int][][]byte, error)

	// OpenRaw opens the stored container bytes of a share, exactly as
	// stored (for a chunked share, the chunks concatenated). It returns
	// the reader and the container size. Corrupt shares can be read.
	OpenRaw(ctx context.Context, shnum int) (io.ReadCloser, int64, error)

	// PutRaw stores size bytes from r as the complete container of a
	// share, replacing any share with that shnum. The bytes are not
	// validated, so corrupt fixtures can be planted. The share becomes
	// visible only when all bytes are stored. If r yields fewer or more
	// than size bytes, PutRaw fails with ErrInvalidArgument and stores
	// nothing.
	PutRaw(ctx context.Context, shnum int, r io.Reader, size int64) error
}

// ImmutableWriter writes one immutable share. Offsets are share data
// offsets. Writes must not go backwards: a Write whose offset is below
// the end of the previous successful Write (that Write's offset plus its
// length, 0 before the first) is ErrInvalidArgument and writes nothing,
// and so is a negative offset. A Write may skip ahead; the bytes it
// skips read as zeros. A Write that passes the allocated size is
// ErrOutOfRange. A Write, or a second Close, after Close or Abort is
// ErrInvalidArgument.
type ImmutableWriter interface {
	// Write writes data at offset of the share data.
	Write(ctx context.Context, offset int64, data []byte) error
	// Close makes the share visible. After Close returns, the share is
	// durable.
	Close(ctx context.Context) error
	// Abort discards the share. It is safe after a failed Write or Close
	// and calling it twice is harmless.
	Abort(ctx context.Context) error
}
