package share

import (
	"context"
	"io"
)

// Buffer is an in-memory container implementing ReadWriterAt and
// MutableFile. WriteAt past the end grows it, zero-filling any gap.
// Commit and Close do nothing.
type Buffer struct {
	B []byte
}

// ReadAt implements io.ReaderAt.
func (b *Buffer) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, io.ErrUnexpectedEOF
	}
	if off >= int64(len(b.B)) {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	n := copy(p, b.B[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// WriteAt implements io.WriterAt.
func (b *Buffer) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, io.ErrShortWrite
	}
	if end := off + int64(len(p)); end > int64(len(b.B)) {
		if end > int64(cap(b.B)) {
			nb := make([]byte, end, max(end, 2*int64(cap(b.B))))
			copy(nb, b.B)
			b.B = nb
		} else {
			b.B = b.B[:end]
		}
	}
	return copy(b.B[off:], p), nil
}

// Size returns the current length.
func (b *Buffer) Size() int64 { return int64(len(b.B)) }

// Commit does nothing.
func (b *Buffer) Commit(context.Context) error { return nil }

// Close does nothing.
func (b *Buffer) Close() error { return nil }
