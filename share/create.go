package share

import (
	"encoding/binary"
	"math"

	"github.com/sharestore/sharestore"
)

// NewImmutableHeader returns the 12-byte header of a new immutable
// container of the given version (1 or 2) with no leases. Its legacy
// length field holds min(allocated, 2^32-1), as Tahoe's disk backend
// writes; pass allocated 0 for the cloud form.
func NewImmutableHeader(version int, allocated int64) []byte {
	legacy := allocated
	if legacy > math.MaxUint32 {
		legacy = math.MaxUint32
	}
	if legacy < 0 {
		legacy = 0
	}
	b := make([]byte, ImmutableHeaderSize)
	binary.BigEndian.PutUint32(b[0:4], uint32(version))
	binary.BigEndian.PutUint32(b[4:8], uint32(legacy))
	return b
}

// NewMutable returns a new, empty mutable container of the given version
// (1 or 2): the magic, nodeid and write enabler, data length 0, the
// extra-lease offset 468, four empty lease slots and a zero extra-lease
// count. It is EmptyMutableSize (472) bytes long.
func NewMutable(version int, nodeid sharestore.NodeID, we sharestore.WriteEnabler) []byte {
	b := make([]byte, EmptyMutableSize)
	magic := MutableMagicV1
	if version == 2 {
		magic = MutableMagicV2
	}
	copy(b[0:32], magic[:])
	copy(b[32:52], nodeid[:])
	copy(b[52:84], we[:])
	binary.BigEndian.PutUint64(b[84:92], 0)
	binary.BigEndian.PutUint64(b[92:100], MutableDataOffset)
	return b
}
