package share

import (
	"encoding/binary"
	"io"

	"github.com/sharestore/sharestore"
)

// Lease is one legacy lease record stored in a container. sharestore keeps
// leases in the lease database; these records are read only to report what
// Tahoe would report. In version 2 containers the secrets are BLAKE2b
// hashes of the cleartext secrets.
type Lease struct {
	// Owner is the owner number; a mutable slot with owner 0 is empty.
	Owner uint32
	// Expiration is the expiration time in seconds since the epoch.
	Expiration uint32
	// RenewSecret and CancelSecret are the lease secrets (hashed in v2).
	RenewSecret  [32]byte
	CancelSecret [32]byte
	// NodeID is the node that recorded a mutable lease (mutable only).
	NodeID sharestore.NodeID
}

// Leases reads the legacy lease records of the container r, whose header
// is h, the way Tahoe enumerates them: for an immutable container the
// NumLeases records at the end of the file; for a mutable container the
// four header slots plus the extra leases after the extra-lease count,
// skipping slots whose owner number is 0. Records that would lie beyond
// the container are an error wrapping sharestore.ErrCorrupt; a read error
// from r is returned as is.
func Leases(r io.ReaderAt, h Header) ([]Lease, error) {
	switch h.Type {
	case sharestore.ShareTypeImmutable:
		return immutableLeases(r, h)
	case sharestore.ShareTypeMutable:
		return mutableLeases(r, h)
	}
	return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "leases: header has no container type")
}

func immutableLeases(r io.ReaderAt, h Header) ([]Lease, error) {
	if h.NumLeases == 0 {
		return nil, nil
	}
	off := h.DataOffset + h.DataLength
	buf := make([]byte, int64(h.NumLeases)*ImmutableLeaseSize)
	if off+int64(len(buf)) > h.Size {
		return nil, corruptf("immutable lease records run past the container end")
	}
	if _, err := r.ReadAt(buf, off); err != nil {
		return nil, err
	}
	out := make([]Lease, h.NumLeases)
	for i := range out {
		b := buf[i*ImmutableLeaseSize:]
		out[i].Owner = binary.BigEndian.Uint32(b[0:4])
		copy(out[i].RenewSecret[:], b[4:36])
		copy(out[i].CancelSecret[:], b[36:68])
		out[i].Expiration = binary.BigEndian.Uint32(b[68:72])
	}
	return out, nil
}

// maxExtraLeases bounds the extra-lease count we believe, so a corrupt
// count cannot make us allocate gigabytes.
const maxExtraLeases = 1 << 20

func mutableLeases(r io.ReaderAt, h Header) ([]Lease, error) {
	slots := make([]byte, MutableLeaseSlots*MutableLeaseSize)
	if h.Size < MutableDataOffset {
		return nil, corruptf("mutable container of %d bytes is too short for its lease slots", h.Size)
	}
	if _, err := r.ReadAt(slots, MutableHeaderSize); err != nil {
		return nil, err
	}
	var cnt [4]byte
	if h.ExtraLeaseOffset+4 > h.Size {
		return nil, corruptf("mutable extra-lease count at %d is past the container end %d", h.ExtraLeaseOffset, h.Size)
	}
	if _, err := r.ReadAt(cnt[:], h.ExtraLeaseOffset); err != nil {
		return nil, err
	}
	n := int64(binary.BigEndian.Uint32(cnt[:]))
	if n > maxExtraLeases || h.ExtraLeaseOffset+4+n*MutableLeaseSize > h.Size {
		return nil, corruptf("mutable container claims %d extra leases that do not fit in %d bytes", n, h.Size)
	}
	if n > 0 {
		extra := make([]byte, n*MutableLeaseSize)
		if _, err := r.ReadAt(extra, h.ExtraLeaseOffset+4); err != nil {
			return nil, err
		}
		slots = append(slots, extra...)
	}
	var out []Lease
	for i := 0; i+MutableLeaseSize <= len(slots); i += MutableLeaseSize {
		b := slots[i : i+MutableLeaseSize]
		l := Lease{
			Owner:      binary.BigEndian.Uint32(b[0:4]),
			Expiration: binary.BigEndian.Uint32(b[4:8]),
		}
		if l.Owner == 0 {
			continue
		}
		copy(l.RenewSecret[:], b[8:40])
		copy(l.CancelSecret[:], b[40:72])
		copy(l.NodeID[:], b[72:92])
		out = append(out, l)
	}
	return out, nil
}
