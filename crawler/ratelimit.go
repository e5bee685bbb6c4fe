package crawler

import (
	"context"
	"io"

	"golang.org/x/time/rate"

	"github.com/sharestore/sharestore"
)

// RateLimit wraps b so that every backend request (a listing, a header
// read, a delete, …) first waits for a token from a limiter of perSecond
// requests per second with the given burst. Waiting uses clock, so tests
// with a FakeClock never sleep for real. perSecond <= 0 returns b.
func RateLimit(b sharestore.Backend, perSecond float64, burst int, clock Clock) sharestore.Backend {
	if perSecond <= 0 {
		return b
	}
	if burst < 1 {
		burst = 1
	}
	return &limited{Backend: b, lim: rate.NewLimiter(rate.Limit(perSecond), burst), clock: clock}
}

type limited struct {
	sharestore.Backend
	lim   *rate.Limiter
	clock Clock
}

func (l *limited) wait(ctx context.Context) error {
	now := l.clock.Now()
	r := l.lim.ReserveN(now, 1)
	if !r.OK() {
		return sharestore.Errorf(sharestore.ErrInternal, "rate limiter refused a request")
	}
	if d := r.DelayFrom(now); d > 0 {
		if err := l.clock.Sleep(ctx, d); err != nil {
			r.CancelAt(l.clock.Now())
			return err
		}
	}
	return nil
}

func (l *limited) ListPrefix(ctx context.Context, p sharestore.Prefix, fn func(sharestore.ShareInfo) error) error {
	if err := l.wait(ctx); err != nil {
		return err
	}
	return l.Backend.ListPrefix(ctx, p, fn)
}

func (l *limited) SharesetsForPrefix(ctx context.Context, p sharestore.Prefix) ([]sharestore.StorageIndex, error) {
	if err := l.wait(ctx); err != nil {
		return nil, err
	}
	return l.Backend.SharesetsForPrefix(ctx, p)
}

func (l *limited) Shareset(si sharestore.StorageIndex) sharestore.Shareset {
	return &limitedSet{Shareset: l.Backend.Shareset(si), l: l}
}

type limitedSet struct {
	sharestore.Shareset
	l *limited
}

func (s *limitedSet) Shares(ctx context.Context) ([]sharestore.Share, []int, error) {
	if err := s.l.wait(ctx); err != nil {
		return nil, nil, err
	}
	return s.Shareset.Shares(ctx)
}

func (s *limitedSet) Share(ctx context.Context, shnum int) (sharestore.Share, error) {
	if err := s.l.wait(ctx); err != nil {
		return sharestore.Share{}, err
	}
	return s.Shareset.Share(ctx, shnum)
}

func (s *limitedSet) ReadShareData(ctx context.Context, shnum int, off, n int64) ([]byte, error) {
	if err := s.l.wait(ctx); err != nil {
		return nil, err
	}
	return s.Shareset.ReadShareData(ctx, shnum, off, n)
}

func (s *limitedSet) DeleteShare(ctx context.Context, shnum int, g sharestore.Guard) error {
	if err := s.l.wait(ctx); err != nil {
		return err
	}
	return s.Shareset.DeleteShare(ctx, shnum, g)
}

func (s *limitedSet) OpenRaw(ctx context.Context, shnum int) (io.ReadCloser, int64, error) {
	if err := s.l.wait(ctx); err != nil {
		return nil, 0, err
	}
	return s.Shareset.OpenRaw(ctx, shnum)
}
