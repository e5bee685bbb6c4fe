package driver

import (
	"context"
	"errors"
	"io"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/share"
)

// shareset is the Backend's handle of one storage index: the preamble
// of every call (closed and context checks, validation, the lock) is
// here, and the work is the driver's.
type shareset struct {
	b  *Backend
	si sharestore.StorageIndex
}

func (s *shareset) StorageIndex() sharestore.StorageIndex { return s.si }

// enter checks b and shnum and takes si's lock.
func (s *shareset) enter(ctx context.Context, shnum int, write bool) (func(), error) {
	check := s.b.check
	if write {
		check = s.b.checkWrite
	}
	if err := check(ctx); err != nil {
		return nil, err
	}
	if err := s.checkShnum(shnum); err != nil {
		return nil, err
	}
	return s.b.locks.Lock(ctx, s.si)
}

func (s *shareset) checkShnum(shnum int) error {
	if err := CheckShnum(shnum); err != nil {
		return sharestore.Wrap(sharestore.ErrInvalidArgument, err, s.b.opts.Name+": share "+s.si.String())
	}
	return nil
}

// Shares implements sharestore.Shareset under si's lock.
func (s *shareset) Shares(ctx context.Context) ([]sharestore.Share, []int, error) {
	unlock, err := s.enter(ctx, 0, false)
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	return s.b.d.Shares(ctx, s.si)
}

// Share implements sharestore.Shareset under si's lock.
func (s *shareset) Share(ctx context.Context, shnum int) (sharestore.Share, error) {
	unlock, err := s.enter(ctx, shnum, false)
	if err != nil {
		return sharestore.Share{}, err
	}
	defer unlock()
	return s.b.d.Share(ctx, s.si, shnum)
}

// ReadShareData implements sharestore.Shareset under si's lock.
func (s *shareset) ReadShareData(ctx context.Context, shnum int, offset, length int64) ([]byte, error) {
	if _, _, err := share.Clamp(0, offset, length); err != nil {
		return nil, sharestore.Wrap(sharestore.ErrInvalidArgument, err, s.b.opts.Name+": read "+s.si.String())
	}
	unlock, err := s.enter(ctx, shnum, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return s.b.d.ReadShareData(ctx, s.si, shnum, offset, length)
}

// OpenRaw implements sharestore.Shareset.
func (s *shareset) OpenRaw(ctx context.Context, shnum int) (io.ReadCloser, int64, error) {
	if err := s.b.check(ctx); err != nil {
		return nil, 0, err
	}
	if err := s.checkShnum(shnum); err != nil {
		return nil, 0, err
	}
	return s.b.d.OpenRaw(ctx, s.si, shnum)
}

// DeleteShare implements sharestore.Shareset: under si's lock, with a
// guard, the driver's Stat, then the guard, then a context check, then
// the driver's Delete with what the guard saw. A share Stat does not
// find is nil, and the guard is not called.
func (s *shareset) DeleteShare(ctx context.Context, shnum int, guard sharestore.Guard) error {
	unlock, err := s.enter(ctx, shnum, true)
	if err != nil {
		return err
	}
	defer unlock()
	var expected *sharestore.ShareInfo
	if guard != nil {
		cur, err := s.b.d.Stat(ctx, s.si, shnum)
		if errors.Is(err, sharestore.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := guard(ctx, cur); err != nil {
			return err
		}
		if err := sharestore.CtxErr(ctx); err != nil {
			return err
		}
		expected = &cur
	}
	return s.b.d.Delete(ctx, s.si, shnum, expected)
}

// TestAndReadAndWrite implements sharestore.Shareset: the request is
// validated, then, under si's lock, the driver's SlotOperator runs it or
// share.TestAndReadAndWrite runs over the driver's SlotStore. A
// read-only backend answers a request with writes with
// ErrPermissionDenied.
func (s *shareset) TestAndReadAndWrite(ctx context.Context, we sharestore.WriteEnabler, tw []sharestore.TestAndWrite, reads []sharestore.ReadRange) (bool, map[int][][]byte, error) {
	if err := share.ValidateTestAndWrite(tw, reads); err != nil {
		return false, nil, err
	}
	for _, t := range tw {
		if err := s.checkShnum(t.Shnum); err != nil {
			return false, nil, err
		}
	}
	unlock, err := s.enter(ctx, 0, len(tw) > 0)
	if err != nil {
		return false, nil, err
	}
	defer unlock()
	if s.b.slot != nil {
		return s.b.slot.TestAndReadAndWrite(ctx, s.si, we, tw, reads)
	}
	store, opts, err := s.b.ss.SlotStore(ctx, s.si)
	if err != nil {
		return false, nil, err
	}
	return share.TestAndReadAndWrite(ctx, store, opts, we, tw, reads)
}
