package share

import (
	"bytes"
	"context"
	"crypto/subtle"
	"sort"

	"github.com/sharestore/sharestore"
)

// MutableFile is one open share container inside a SlotStore operation.
type MutableFile interface {
	ReadWriterAt
	// Size returns the container's current size.
	Size() int64
	// Commit makes the changes written so far durable and visible.
	Commit(ctx context.Context) error
	// Close releases the file without committing anything not yet
	// committed. It is called for every opened or created file.
	Close() error
}

// SlotStore is what TestAndReadAndWrite needs from a backend for one
// storage index. The backend holds the storage index's lock for the whole
// operation.
type SlotStore interface {
	// Shares lists the completed shares and the corrupted shnums.
	Shares(ctx context.Context) ([]sharestore.Share, []int, error)
	// Open opens an existing share for reading and writing.
	Open(ctx context.Context, shnum int) (MutableFile, error)
	// Create creates a new share whose initial content is container.
	Create(ctx context.Context, shnum int, container []byte) (MutableFile, error)
	// Delete removes a share.
	Delete(ctx context.Context, shnum int) error
}

// SlotOptions are the parameters of a new mutable container.
type SlotOptions struct {
	// NodeID is recorded in new containers next to the write enabler.
	NodeID sharestore.NodeID
	// Version is the container version of new shares (1 or 2; 0 means 1).
	Version int
}

// ValidateTestAndWrite checks a slot request's shape: shnums must be
// non-negative and distinct, offsets and lengths non-negative, operators
// known, and writes within MaxMutableShareSize. Violations are
// ErrInvalidArgument (ErrOutOfRange for oversized writes).
func ValidateTestAndWrite(tw []sharestore.TestAndWrite, reads []sharestore.ReadRange) error {
	seen := map[int]bool{}
	for _, t := range tw {
		if t.Shnum < 0 {
			return sharestore.Errorf(sharestore.ErrInvalidArgument, "negative share number %d", t.Shnum)
		}
		if seen[t.Shnum] {
			return sharestore.Errorf(sharestore.ErrInvalidArgument, "share number %d appears twice in the write vectors", t.Shnum)
		}
		seen[t.Shnum] = true
		for _, v := range t.Tests {
			if v.Offset < 0 || v.Length < 0 {
				return sharestore.Errorf(sharestore.ErrInvalidArgument, "test vector for share %d has negative offset or length", t.Shnum)
			}
			switch v.Op {
			case sharestore.OpLT, sharestore.OpLE, sharestore.OpEQ, sharestore.OpNE, sharestore.OpGE, sharestore.OpGT:
			default:
				return sharestore.Errorf(sharestore.ErrInvalidArgument, "unknown test operator %q", v.Op)
			}
		}
		if err := CheckWrites(t.Writes, t.NewLength); err != nil {
			return err
		}
	}
	for _, r := range reads {
		if r.Offset < 0 || r.Length < 0 {
			return sharestore.Errorf(sharestore.ErrInvalidArgument, "read vector has negative offset or length (%d, %d)", r.Offset, r.Length)
		}
	}
	return nil
}

// Compare evaluates stored <op> specimen, comparing bytes
// lexicographically as Tahoe's testv_compare does.
func Compare(stored []byte, op sharestore.TestOp, specimen []byte) bool {
	c := bytes.Compare(stored, specimen)
	switch op {
	case sharestore.OpLT:
		return c < 0
	case sharestore.OpLE:
		return c <= 0
	case sharestore.OpEQ:
		return c == 0
	case sharestore.OpNE:
		return c != 0
	case sharestore.OpGE:
		return c >= 0
	case sharestore.OpGT:
		return c > 0
	}
	return false
}

type openShare struct {
	f MutableFile
	h Header
}

// TestAndReadAndWrite runs Tahoe's slot_testv_and_readv_and_writev on s,
// in Tahoe's exact order of effects: (1) list the
// shares, ignoring immutable ones; (2) check the write enabler against
// every mutable share, failing with ErrPermissionDenied and Tahoe's
// message before anything is written; (3) evaluate the test vectors in
// order, where a corrupt share matches nothing and a missing share reads
// as empty; (4) gather the reads from every existing mutable share before
// any write; (5) if every test passed, apply the writes: new length 0
// deletes, a missing share is created first. Writing to a corrupt share is
// ErrCorrupt and writing over an immutable share is ErrConflict; both are
// detected before any write. The caller holds the storage index's lock.
func TestAndReadAndWrite(ctx context.Context, s SlotStore, opts SlotOptions, we sharestore.WriteEnabler, tw []sharestore.TestAndWrite, reads []sharestore.ReadRange) (ok bool, out map[int][][]byte, err error) {
	if err := ValidateTestAndWrite(tw, reads); err != nil {
		return false, nil, err
	}
	if err := sharestore.CtxErr(ctx); err != nil {
		return false, nil, err
	}
	shares, corruptList, err := s.Shares(ctx)
	if err != nil {
		return false, nil, err
	}
	corrupt := map[int]bool{}
	for _, n := range corruptList {
		corrupt[n] = true
	}
	immutable := map[int]bool{}
	open := map[int]*openShare{}
	defer func() {
		for _, o := range open {
			o.f.Close()
		}
	}()
	var shnums []int
	for _, sh := range shares {
		if sh.Type != sharestore.ShareTypeMutable {
			immutable[sh.Shnum] = true
			continue
		}
		f, err := s.Open(ctx, sh.Shnum)
		if err != nil {
			return false, nil, err
		}
		o := &openShare{f: f}
		open[sh.Shnum] = o
		head := make([]byte, min(f.Size(), HeaderReadSize))
		if _, err := f.ReadAt(head, 0); err != nil {
			return false, nil, err
		}
		if o.h, err = Classify(head, f.Size()); err != nil {
			return false, nil, err
		}
		shnums = append(shnums, sh.Shnum)
	}
	sort.Ints(shnums)
	// (2) write enablers, in shnum order.
	for _, n := range shnums {
		h := open[n].h
		if subtle.ConstantTimeCompare(h.WriteEnabler[:], we[:]) != 1 {
			return false, nil, sharestore.Errorf(sharestore.ErrPermissionDenied, "The write enabler was recorded by nodeid '%s'.", h.NodeID)
		}
	}
	// (3) test vectors, stopping at the first failure.
	ok = true
	for _, t := range tw {
		if !ok {
			break
		}
		o := open[t.Shnum]
		for _, v := range t.Tests {
			var stored []byte
			switch {
			case corrupt[t.Shnum]:
				ok = false
			case o != nil:
				if stored, err = ReadData(o.f, o.h, v.Offset, v.Length); err != nil {
					return false, nil, err
				}
			}
			if !ok || !Compare(stored, v.Op, v.Specimen) {
				ok = false
				break
			}
		}
	}
	// (4) reads from every existing mutable share, before any write.
	out = make(map[int][][]byte, len(shnums))
	for _, n := range shnums {
		o := open[n]
		res := make([][]byte, 0, len(reads))
		for _, r := range reads {
			b, err := ReadData(o.f, o.h, r.Offset, r.Length)
			if err != nil {
				return false, nil, err
			}
			res = append(res, b)
		}
		out[n] = res
	}
	if !ok {
		return false, out, nil
	}
	// (5) writes.
	for _, t := range tw {
		if corrupt[t.Shnum] {
			return false, nil, sharestore.Errorf(sharestore.ErrCorrupt, "You asked to write share number %d, but it is corrupt; it cannot be written until an operator removes it", t.Shnum)
		}
		if immutable[t.Shnum] {
			return false, nil, sharestore.Errorf(sharestore.ErrConflict, "share number %d is an immutable share; a mutable write cannot replace it", t.Shnum)
		}
	}
	version := opts.Version
	if version == 0 {
		version = 1
	}
	for _, t := range tw {
		if err := sharestore.CtxErr(ctx); err != nil {
			return false, nil, err
		}
		o := open[t.Shnum]
		if t.NewLength != nil && *t.NewLength == 0 {
			if o != nil {
				o.f.Close()
				delete(open, t.Shnum)
				if err := s.Delete(ctx, t.Shnum); err != nil {
					return false, nil, err
				}
			}
			continue
		}
		if o == nil {
			container := NewMutable(version, opts.NodeID, we)
			f, err := s.Create(ctx, t.Shnum, container)
			if err != nil {
				return false, nil, err
			}
			o = &openShare{f: f}
			open[t.Shnum] = o
			if o.h, err = Classify(container, int64(len(container))); err != nil {
				return false, nil, err
			}
		}
		if o.h, err = ApplyMutableWrites(o.f, o.h, t.Writes, t.NewLength); err != nil {
			return false, nil, err
		}
		if err := o.f.Commit(ctx); err != nil {
			return false, nil, err
		}
	}
	return true, out, nil
}
