package share

import (
	"encoding/binary"
	"io"

	"github.com/sharestore/sharestore"
)

// ReadWriterAt is random access to one container. WriteAt past the end
// extends the container.
type ReadWriterAt interface {
	io.ReaderAt
	io.WriterAt
}

// CheckWrites validates a mutable write vector without touching anything:
// a negative offset is ErrInvalidArgument and a write whose end passes
// MaxMutableShareSize is ErrOutOfRange (Tahoe's DataTooLargeError).
func CheckWrites(writes []sharestore.DataVector, newLength *int64) error {
	for _, w := range writes {
		if w.Offset < 0 {
			return sharestore.Errorf(sharestore.ErrInvalidArgument, "mutable write at negative offset %d", w.Offset)
		}
		if w.Offset > MaxMutableShareSize || w.Offset+int64(len(w.Data)) > MaxMutableShareSize {
			return sharestore.Errorf(sharestore.ErrOutOfRange, "mutable write of %d bytes at offset %d passes the maximum share size %d", len(w.Data), w.Offset, int64(MaxMutableShareSize))
		}
	}
	if newLength != nil && *newLength < 0 {
		return sharestore.Errorf(sharestore.ErrInvalidArgument, "negative new length %d", *newLength)
	}
	return nil
}

// ApplyMutableWrites applies a write vector and an optional new length to
// the mutable container f, whose current header is h, exactly as Tahoe's
// disk backend does (mutable.py writev): writes are applied in order; a
// write that ends past the data extends it, first moving the extra-lease
// block to the new end of the container if the data would overrun it, and
// zero-filling any gap between the old end of data and the write; finally
// a new length shorter than the data truncates the data length (the
// container is not shrunk) and a longer one changes nothing. A new length
// of 0 is the caller's business (it means delete the share). It returns
// the new header. Errors from f are returned as they are; invalid writes
// are rejected by CheckWrites before anything is written.
func ApplyMutableWrites(f ReadWriterAt, h Header, writes []sharestore.DataVector, newLength *int64) (Header, error) {
	if h.Type != sharestore.ShareTypeMutable {
		return h, sharestore.Errorf(sharestore.ErrInvalidArgument, "mutable write to a %s container", h.Type)
	}
	if err := CheckWrites(writes, newLength); err != nil {
		return h, err
	}
	dl, elo, size := h.DataLength, h.ExtraLeaseOffset, h.Size
	for _, w := range writes {
		end := w.Offset + int64(len(w.Data))
		if end >= dl {
			if MutableDataOffset+end > elo {
				// Move the extra-lease block (count plus records)
				// to the new end of the container, zeroing the old
				// copy (Tahoe #1528).
				newElo := MutableDataOffset + end
				block, err := readLeaseBlock(f, elo, size)
				if err != nil {
					return h, err
				}
				if err := writeZeros(f, elo, int64(len(block))); err != nil {
					return h, err
				}
				if _, err := f.WriteAt(block, newElo); err != nil {
					return h, err
				}
				elo = newElo
				size = max(size, newElo+int64(len(block)))
			}
			if w.Offset > dl {
				if err := writeZeros(f, MutableDataOffset+dl, w.Offset-dl); err != nil {
					return h, err
				}
			}
			dl = end
		}
		if len(w.Data) > 0 {
			if _, err := f.WriteAt(w.Data, MutableDataOffset+w.Offset); err != nil {
				return h, err
			}
			size = max(size, MutableDataOffset+end)
		}
	}
	if newLength != nil && *newLength < dl {
		dl = *newLength
	}
	var fields [16]byte
	binary.BigEndian.PutUint64(fields[0:8], uint64(dl))
	binary.BigEndian.PutUint64(fields[8:16], uint64(elo))
	if _, err := f.WriteAt(fields[:], 84); err != nil {
		return h, err
	}
	h.DataLength, h.ExtraLeaseOffset, h.Size = dl, elo, size
	return h, nil
}

// readLeaseBlock returns the extra-lease count and records at elo. A
// container whose count is missing or inconsistent yields just a zero
// count, so that a write repairs it rather than failing.
func readLeaseBlock(f io.ReaderAt, elo, size int64) ([]byte, error) {
	var cnt [4]byte
	if elo+4 > size {
		return cnt[:], nil
	}
	if _, err := f.ReadAt(cnt[:], elo); err != nil {
		return nil, err
	}
	n := int64(binary.BigEndian.Uint32(cnt[:]))
	if n == 0 || n > maxExtraLeases || elo+4+n*MutableLeaseSize > size {
		return make([]byte, 4), nil
	}
	block := make([]byte, 4+n*MutableLeaseSize)
	if _, err := f.ReadAt(block, elo); err != nil {
		return nil, err
	}
	return block, nil
}

var zeroChunk = make([]byte, 1<<20)

func writeZeros(f io.WriterAt, off, n int64) error {
	for n > 0 {
		k := min(n, int64(len(zeroChunk)))
		if _, err := f.WriteAt(zeroChunk[:k], off); err != nil {
			return err
		}
		off += k
		n -= k
	}
	return nil
}

// ReadData reads share data [offset, offset+length) of the container r
// with header h, clamped as Tahoe clamps: a read past the end of the data
// is truncated, and one that starts at or past the end returns no bytes.
// A negative offset or length is ErrInvalidArgument.
func ReadData(r io.ReaderAt, h Header, offset, length int64) ([]byte, error) {
	offset, length, err := Clamp(h.DataLength, offset, length)
	if err != nil || length == 0 {
		return []byte{}, err
	}
	buf := make([]byte, length)
	n, err := r.ReadAt(buf, h.DataOffset+offset)
	if err == io.EOF && int64(n) == length {
		err = nil
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return nil, corruptf("share data truncated: read %d of %d bytes at data offset %d", n, length, offset)
	}
	return buf[:n], err
}

// Clamp applies Tahoe's read clamping to a read of length bytes at offset
// of data that is dataLength bytes long, returning the range to read. A
// negative offset or length is ErrInvalidArgument.
func Clamp(dataLength, offset, length int64) (int64, int64, error) {
	if offset < 0 || length < 0 {
		return 0, 0, sharestore.Errorf(sharestore.ErrInvalidArgument, "read at offset %d length %d: must not be negative", offset, length)
	}
	if offset >= dataLength {
		return offset, 0, nil
	}
	if length > dataLength-offset {
		length = dataLength - offset
	}
	return offset, length, nil
}
