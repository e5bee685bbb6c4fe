package sharestore

import (
	"context"
	"io"
)

// ContextReader returns a reader that reads from r until ctx ends: each
// Read first checks ctx and then fails with the error CtxErr gives (so
// errors.Is(err, context.Canceled) holds) instead of reading.
func ContextReader(ctx context.Context, r io.Reader) io.Reader { return &ctxReader{ctx: ctx, r: r} }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := CtxErr(c.ctx); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
