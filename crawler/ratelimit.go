package crawler

import (
	"context"

	"golang.org/x/time/rate"

	"github.com/sharestore/sharestore"
)

// RateLimit wraps b so that every request made on it (every listing,
// scan prefix, header read, data read, delete, write and metadata
// record access, as sharestore.Request defines one) first waits for
// Request.Cost tokens from a limiter of perSecond tokens per second
// with the given burst: a scan pays one token to start and one for each
// prefix it returns, and a batch of header reads one for each share. It
// is sharestore.Intercept with a waiting hook, so b's stream and batch
// paths (a plugin's) are kept. Waiting uses clock, so tests with a
// FakeClock never sleep for real; a context that ends while a request
// waits fails that request with the context's error. perSecond <= 0
// returns b.
func RateLimit(b sharestore.Backend, perSecond float64, burst int, clock Clock) sharestore.Backend {
	if perSecond <= 0 {
		return b
	}
	if burst < 1 {
		burst = 1
	}
	l := &limiter{lim: rate.NewLimiter(rate.Limit(perSecond), burst), clock: clock}
	return sharestore.Intercept(b, sharestore.Hooks{Request: l.wait})
}

type limiter struct {
	lim   *rate.Limiter
	clock Clock
}

// wait takes r's cost from the limiter, at most a burst at a time.
func (l *limiter) wait(ctx context.Context, r sharestore.Request) error {
	for n := r.Cost(); n > 0; {
		k := min(n, l.lim.Burst())
		if err := l.take(ctx, k); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// take waits for n tokens, n at most the burst.
func (l *limiter) take(ctx context.Context, n int) error {
	now := l.clock.Now()
	r := l.lim.ReserveN(now, n)
	if !r.OK() {
		return sharestore.Errorf(sharestore.ErrInternal, "rate limiter refused a request of %d tokens", n)
	}
	if d := r.DelayFrom(now); d > 0 {
		if err := l.clock.Sleep(ctx, d); err != nil {
			r.CancelAt(l.clock.Now())
			return err
		}
	}
	return nil
}
