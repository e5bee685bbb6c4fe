// Package share implements Tahoe-LAFS share containers: the immutable
// container (versions 1 and 2) and the mutable container (versions 1 and
// 2). It classifies a container from its first bytes, parses headers and
// legacy lease records, creates new containers, and applies mutable
// writes. It does no I/O of its own: callers hand it bytes, an io.ReaderAt
// or a ReadWriterAt.
//
// Every malformed input is reported as an error that wraps
// sharestore.ErrCorrupt and gives the reason; no input makes it panic.
//
// The formats, field by field, with the rules that make a container
// corrupt, are described in docs/formats.md in the repository.
package share

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/sharestore/sharestore"
)

// Sizes and offsets of the container formats (Tahoe's immutable.py,
// mutable.py and their *_schema.py).
const (
	// ImmutableHeaderSize is the size of the immutable ">LLL" header;
	// immutable share data starts here.
	ImmutableHeaderSize = 12
	// ImmutableLeaseSize is the size of one legacy immutable lease
	// record (">L32s32sL").
	ImmutableLeaseSize = 72
	// MutableHeaderSize is the size of the fixed mutable header
	// (">32s20s32sQQ").
	MutableHeaderSize = 100
	// MutableLeaseSize is the size of one mutable lease slot
	// (">LL32s32s20s").
	MutableLeaseSize = 92
	// MutableLeaseSlots is the number of lease slots in the mutable
	// header.
	MutableLeaseSlots = 4
	// MutableDataOffset is where mutable share data starts.
	MutableDataOffset = MutableHeaderSize + MutableLeaseSlots*MutableLeaseSize // 468
	// EmptyMutableSize is the size of a new, empty mutable container.
	EmptyMutableSize = MutableDataOffset + 4 // 472
	// MaxMutableShareSize is Tahoe's MAX_MUTABLE_SHARE_SIZE: a write
	// whose end passes it fails.
	MaxMutableShareSize = 69105 * 1000 * 1000 * 1000 * 1000
	// HeaderReadSize is enough leading bytes to classify any container
	// and parse its header, lease slots included.
	HeaderReadSize = MutableDataOffset
	// magicSize is the size of the mutable magic.
	magicSize = 32
)

// MutableMagicV1 and MutableMagicV2 are the 32-byte magics of mutable
// containers versions 1 and 2.
var (
	MutableMagicV1 = mutableMagic(1)
	MutableMagicV2 = mutableMagic(2)
)

var mutableMagicStem = []byte("Tahoe mutable container")

// mutableMagic computes Tahoe's mutable_schema._magic(version): the human
// readable stem plus 5 bytes, fixed for v1 and a tagged SHA-256d hash
// for later versions.
func mutableMagic(version int) [32]byte {
	human := []byte(fmt.Sprintf("Tahoe mutable container v%d\n", version))
	var tail []byte
	if version == 1 {
		tail = []byte{0x75, 0x09, 0x44, 0x03, 0x8e}
	} else {
		tail = taggedHash("allmydata_mutable_container_header", human)[:5]
	}
	var m [32]byte
	copy(m[:], append(human, tail...))
	return m
}

// taggedHash is Tahoe's hashutil.tagged_hash: SHA-256d over the netstring
// of the tag followed by the value.
func taggedHash(tag string, val []byte) []byte {
	h := sha256.New()
	fmt.Fprintf(h, "%d:%s,", len(tag), tag)
	h.Write(val)
	first := h.Sum(nil)
	second := sha256.Sum256(first)
	return second[:]
}

// Header is a parsed container header.
type Header struct {
	// Type is sharestore.ShareTypeImmutable or ShareTypeMutable.
	Type sharestore.ShareType
	// Version is 1 or 2.
	Version int
	// DataOffset is where the share data starts in the container.
	DataOffset int64
	// DataLength is the number of share data bytes.
	DataLength int64
	// Size is the container size the header was checked against.
	Size int64

	// NumLeases is the immutable header's lease count (immutable only).
	NumLeases uint32
	// LegacyLength is the immutable header's unused length field
	// (immutable only).
	LegacyLength uint32

	// NodeID is the server that recorded the write enabler (mutable
	// only).
	NodeID sharestore.NodeID
	// WriteEnabler is the slot's write enabler (mutable only).
	WriteEnabler sharestore.WriteEnabler
	// ExtraLeaseOffset is the offset of the extra-lease count (mutable
	// only).
	ExtraLeaseOffset int64
}

// corruptf returns an error wrapping sharestore.ErrCorrupt.
func corruptf(format string, args ...any) error {
	return sharestore.Errorf(sharestore.ErrCorrupt, format, args...)
}

// Classify parses the header of a container of size bytes whose first
// bytes are head. head must hold at least min(size, HeaderReadSize)
// bytes; more are ignored. The checks use only head and size, so a
// listing's size plus one ranged read is enough. An unparseable container
// is an error wrapping sharestore.ErrCorrupt whose text gives the reason.
func Classify(head []byte, size int64) (Header, error) {
	if size < 0 {
		return Header{}, corruptf("negative container size %d", size)
	}
	if int64(len(head)) > size {
		head = head[:size]
	}
	if need := min(size, HeaderReadSize); int64(len(head)) < need {
		return Header{}, sharestore.Errorf(sharestore.ErrInvalidArgument, "classify: need the first %d bytes of the container, got %d", need, len(head))
	}
	switch {
	case bytes.HasPrefix(head, MutableMagicV1[:]):
		return parseMutable(head, size, 1)
	case bytes.HasPrefix(head, MutableMagicV2[:]):
		return parseMutable(head, size, 2)
	case bytes.HasPrefix(head, mutableMagicStem):
		return Header{}, corruptf("unknown mutable container version (magic %q)", printable(head[:min(len(head), magicSize)]))
	}
	return parseImmutable(head, size)
}

func printable(b []byte) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c >= 0x20 && c < 0x7f {
			out = append(out, c)
		} else {
			out = append(out, '.')
		}
	}
	return string(out)
}

func parseImmutable(head []byte, size int64) (Header, error) {
	if size < ImmutableHeaderSize {
		return Header{}, corruptf("immutable header truncated: container is %d bytes, header needs %d", size, ImmutableHeaderSize)
	}
	version := binary.BigEndian.Uint32(head[0:4])
	if version != 1 && version != 2 {
		return Header{}, corruptf("unknown immutable container version %d", version)
	}
	h := Header{
		Type:         sharestore.ShareTypeImmutable,
		Version:      int(version),
		DataOffset:   ImmutableHeaderSize,
		LegacyLength: binary.BigEndian.Uint32(head[4:8]),
		NumLeases:    binary.BigEndian.Uint32(head[8:12]),
		Size:         size,
	}
	h.DataLength = size - ImmutableHeaderSize - int64(h.NumLeases)*ImmutableLeaseSize
	if h.DataLength < 0 {
		return Header{}, corruptf("immutable container of %d bytes cannot hold %d lease records", size, h.NumLeases)
	}
	return h, nil
}

func parseMutable(head []byte, size int64, version int) (Header, error) {
	if size < MutableHeaderSize || len(head) < MutableHeaderSize {
		return Header{}, corruptf("mutable header truncated: container is %d bytes, header needs %d", size, MutableHeaderSize)
	}
	h := Header{
		Type:       sharestore.ShareTypeMutable,
		Version:    version,
		DataOffset: MutableDataOffset,
		Size:       size,
	}
	copy(h.NodeID[:], head[32:52])
	copy(h.WriteEnabler[:], head[52:84])
	dl := binary.BigEndian.Uint64(head[84:92])
	elo := binary.BigEndian.Uint64(head[92:100])
	if dl > MaxMutableShareSize {
		return Header{}, corruptf("mutable data length %d exceeds the maximum %d", dl, uint64(MaxMutableShareSize))
	}
	h.DataLength = int64(dl)
	if MutableDataOffset+h.DataLength > size {
		return Header{}, corruptf("mutable container of %d bytes is shorter than its header says (%d data bytes at offset %d)", size, dl, MutableDataOffset)
	}
	if elo > uint64(size) || int64(elo) < MutableDataOffset+h.DataLength {
		return Header{}, corruptf("mutable extra-lease offset %d is outside [%d, %d]", elo, MutableDataOffset+h.DataLength, size)
	}
	h.ExtraLeaseOffset = int64(elo)
	if h.ExtraLeaseOffset+4 > size {
		return Header{}, corruptf("mutable container of %d bytes is missing its extra-lease count at offset %d", size, elo)
	}
	return h, nil
}
