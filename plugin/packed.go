package plugin

import (
	"encoding/binary"
	"slices"
	"time"

	"github.com/sharestore/sharestore"
)

// The packed listing of a ScanPage (see backend.proto): fixed-size
// little-endian records, so a page of a thousand shares is one byte
// slice to encode and decode instead of a thousand messages.
const (
	siSize           = len(sharestore.StorageIndex{})
	packedShareSize  = siSize + 4 + 8 + 8 + 8
	packedSharesetSz = siSize
)

func appendPackedShare(b []byte, i sharestore.ShareInfo) []byte {
	b = append(b, i.SI[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(i.Shnum))
	b = binary.LittleEndian.AppendUint64(b, uint64(i.Size))
	b = binary.LittleEndian.AppendUint64(b, uint64(i.UsedSpace))
	return binary.LittleEndian.AppendUint64(b, uint64(i.ModTime.UnixNano()))
}

// unpackShares appends the shares packed in b to out. A length that is
// not a whole number of records is ErrInternal: the plugin is broken.
func unpackShares(out []sharestore.ShareInfo, b []byte) ([]sharestore.ShareInfo, error) {
	if len(b)%packedShareSize != 0 {
		return out, sharestore.Errorf(sharestore.ErrInternal, "plugin sent %d bytes of packed shares, not a multiple of %d", len(b), packedShareSize)
	}
	out = slices.Grow(out, len(b)/packedShareSize)
	for ; len(b) > 0; b = b[packedShareSize:] {
		var i sharestore.ShareInfo
		copy(i.SI[:], b)
		r := b[siSize:]
		i.Shnum = int(binary.LittleEndian.Uint32(r))
		i.Size = int64(binary.LittleEndian.Uint64(r[4:]))
		i.UsedSpace = int64(binary.LittleEndian.Uint64(r[12:]))
		i.ModTime = time.Unix(0, int64(binary.LittleEndian.Uint64(r[20:])))
		out = append(out, i)
	}
	return out, nil
}

// versionBytes is about the size the Versions of a ScanPart add to its
// message: each string and its two bytes of framing.
func versionBytes(versions []string) int {
	n := 0
	for _, v := range versions {
		n += len(v) + 2
	}
	return n
}

// setVersions sets the Versions of shares, the last listing entries
// unpacked from one part, from that part's versions: none when it has
// none (every Version stays ""), one per share otherwise. Any other count
// is ErrInternal: the plugin is broken.
func setVersions(shares []sharestore.ShareInfo, versions []string) error {
	if len(versions) == 0 {
		return nil
	}
	if len(versions) != len(shares) {
		return sharestore.Errorf(sharestore.ErrInternal, "plugin sent %d share versions for %d shares", len(versions), len(shares))
	}
	for k := range shares {
		shares[k].Version = versions[k]
	}
	return nil
}

// unpackSharesets appends the storage indexes packed in b to out.
func unpackSharesets(out []sharestore.StorageIndex, b []byte) ([]sharestore.StorageIndex, error) {
	if len(b)%packedSharesetSz != 0 {
		return out, sharestore.Errorf(sharestore.ErrInternal, "plugin sent %d bytes of packed storage indexes, not a multiple of %d", len(b), packedSharesetSz)
	}
	out = slices.Grow(out, len(b)/packedSharesetSz)
	for ; len(b) > 0; b = b[packedSharesetSz:] {
		var si sharestore.StorageIndex
		copy(si[:], b)
		out = append(out, si)
	}
	return out, nil
}
