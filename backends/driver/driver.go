package driver

import (
	"context"
	"io"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/share"
)

// Driver is what a backend implements under the shared layer. New wraps
// it in a Backend, which calls the driver only with arguments it has
// validated, only while the Backend is open, and only with a context
// that was not done when the call began. Methods marked "under the lock"
// are called while the Backend holds the storage index's lock, so for
// one storage index they never run concurrently with each other through
// one Backend. A driver returns errors from the sharestore vocabulary
// and names the thing (a path, a key) in its messages.
type Driver interface {
	// Capabilities describes the driver's store. It does no I/O. The
	// Backend reports it, with ReadOnly also set when Options.ReadOnly
	// is.
	Capabilities() sharestore.Capabilities

	// ListPrefix is sharestore.Backend.ListPrefix for a valid prefix.
	ListPrefix(ctx context.Context, p sharestore.Prefix, fn func(sharestore.ShareInfo) error) error
	// SharesetsForPrefix is sharestore.Backend.SharesetsForPrefix for a
	// valid prefix.
	SharesetsForPrefix(ctx context.Context, p sharestore.Prefix) ([]sharestore.StorageIndex, error)
	// AvailableSpace is sharestore.Backend.AvailableSpace of a writable
	// backend (the Backend answers 0 itself when read-only).
	AvailableSpace(ctx context.Context) (int64, error)
	// Close releases the driver's resources. The Backend calls it once,
	// from its own Close.
	Close() error

	// Shares is sharestore.Shareset.Shares of si, under the lock.
	Shares(ctx context.Context, si sharestore.StorageIndex) ([]sharestore.Share, []int, error)
	// Share is sharestore.Shareset.Share, under the lock.
	Share(ctx context.Context, si sharestore.StorageIndex, shnum int) (sharestore.Share, error)
	// ReadShareData is sharestore.Shareset.ReadShareData with a
	// non-negative offset and length, under the lock.
	ReadShareData(ctx context.Context, si sharestore.StorageIndex, shnum int, offset, length int64) ([]byte, error)
	// OpenRaw is sharestore.Shareset.OpenRaw. It is not called under the
	// lock: the reader outlives the call.
	OpenRaw(ctx context.Context, si sharestore.StorageIndex, shnum int) (io.ReadCloser, int64, error)

	// Stat returns the share's listing entry as ListPrefix would show it
	// now, or an error of class ErrNotFound when the share does not
	// exist. It is what a DeleteShare guard sees; under the lock.
	Stat(ctx context.Context, si sharestore.StorageIndex, shnum int) (sharestore.ShareInfo, error)
	// Delete deletes the share and nothing else, under the lock; a share
	// that does not exist is success. When expected is not nil, a guard
	// approved the share as Stat showed it: a driver that can make the
	// store's delete conditional (Capabilities.ConditionalDelete) does
	// so on expected.Version, and one that is remote (a plugin) sends
	// expected along; a share that changed is ErrConflict and stays.
	Delete(ctx context.Context, si sharestore.StorageIndex, shnum int, expected *sharestore.ShareInfo) error

	// StartImmutable begins an upload of a new immutable share with room
	// for allocated data bytes. A share that already exists is
	// ErrConflict. The Backend has registered the upload, so no other
	// upload of that share runs through it. Not under the lock.
	StartImmutable(ctx context.Context, si sharestore.StorageIndex, shnum int, allocated int64) (Upload, error)
	// StagePut prepares a PutRaw: it consumes r, which the Backend has
	// wrapped so that it yields exactly size bytes and then io.EOF (or
	// fails with ErrInvalidArgument), wherever the driver keeps staged
	// bytes, and returns what makes them the share. Not under the lock;
	// a driver that cannot stage may return a Staged whose Commit reads
	// r then.
	StagePut(ctx context.Context, si sharestore.StorageIndex, shnum int, r io.Reader, size int64) (Staged, error)
}

// Upload is an immutable share being written, as a driver sees it. The
// Backend checks every Write first: none after Commit or Abort, none at
// an offset below the end of the previous Write, none past the allocated
// size. A gap between writes reads as zero bytes.
type Upload interface {
	// Write stores data at offset of the share data.
	Write(ctx context.Context, offset int64, data []byte) error
	// Commit makes the share visible and durable, under the storage
	// index's lock; a share that exists by now is ErrConflict. After a
	// failed Commit the Backend calls Abort.
	Commit(ctx context.Context) error
	// Abort discards what was written. It may follow a failed Write or
	// Commit and is called at most once.
	Abort(ctx context.Context) error
}

// Staged is a PutRaw whose bytes the driver holds, ready to become the
// share.
type Staged interface {
	// Commit replaces the share with the staged bytes, under the
	// storage index's lock. The share becomes visible only whole.
	Commit(ctx context.Context) error
	// Discard drops the staged bytes. The Backend calls it after a
	// failed Commit, or instead of Commit.
	Discard()
}

// SlotDriver is implemented by a driver whose mutable shares the shared
// slot algorithm edits (share.TestAndReadAndWrite). A driver is a
// SlotDriver or a SlotOperator.
type SlotDriver interface {
	// SlotStore returns si's mutable shares for one slot operation,
	// under the lock, and the parameters of new containers.
	SlotStore(ctx context.Context, si sharestore.StorageIndex) (share.SlotStore, share.SlotOptions, error)
}

// SlotOperator is implemented by a driver that performs the mutable slot
// operation itself (a plugin host sends it to its plugin). It is called
// under the lock, with a validated request (share.ValidateTestAndWrite).
type SlotOperator interface {
	TestAndReadAndWrite(ctx context.Context, si sharestore.StorageIndex, we sharestore.WriteEnabler, tw []sharestore.TestAndWrite, reads []sharestore.ReadRange) (bool, map[int][][]byte, error)
}

// HeaderGroupReader is an optional fast path for drivers that read the
// headers of several shares of one storage index cheaper together (disk
// opens the storage index directory once). The Backend's ReadHeaders
// groups ids by storage index and calls it under that storage index's
// lock; shares[i] and errs[i] answer shnums[i] as Share would. A driver
// that is a sharestore.HeaderReader instead gets the whole batch, with
// no lock taken by the Backend.
type HeaderGroupReader interface {
	ReadHeaderGroup(ctx context.Context, si sharestore.StorageIndex, shnums []int) (shares []sharestore.Share, errs []error)
}
