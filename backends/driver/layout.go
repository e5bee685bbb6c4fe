package driver

import (
	"strconv"
	"strings"

	"github.com/sharestore/sharestore"
)

// MaxShnum is the largest share number a backend stores: share numbers
// are written as at most nine decimal digits, so that every name a
// backend writes is one ParseShnum accepts. Tahoe uses 0..255.
const MaxShnum = 999_999_999

// SharesDir is the first component of every share's path or key.
const SharesDir = "shares"

// PrefixPath returns "shares/PP/" for prefix p.
func PrefixPath(p sharestore.Prefix) string { return SharesDir + "/" + string(p) + "/" }

// SIPath returns "shares/PP/SI/" for si.
func SIPath(si sharestore.StorageIndex) string {
	s := si.String()
	return SharesDir + "/" + s[:2] + "/" + s + "/"
}

// SharePath returns "shares/PP/SI/N", the path (on disk, relative to the
// storage directory, with "/" separators) or key (in an object store,
// after any key prefix) of share shnum of si.
func SharePath(si sharestore.StorageIndex, shnum int) string {
	return SIPath(si) + strconv.Itoa(shnum)
}

// ChunkName returns the name of chunk i of share shnum inside its storage
// index's directory: "N" for chunk 0 and "N.i" after.
func ChunkName(shnum int, i int64) string {
	n := strconv.Itoa(shnum)
	if i > 0 {
		n += "." + strconv.FormatInt(i, 10)
	}
	return n
}

// ParseShnum parses a canonical decimal number of at most nine digits:
// no sign, no leading zero, nothing else. It is how a share's file name,
// or a chunk's number, is read back; any other name is not a share.
func ParseShnum(s string) (int, bool) {
	if s == "" || len(s) > 9 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// ChunkRef is a parsed share path or chunk key.
type ChunkRef struct {
	SI    sharestore.StorageIndex
	Shnum int
	// Chunk is 0 for "N" and i for "N.i".
	Chunk int64
}

// ParseChunkPath parses "shares/PP/SI/N" or "shares/PP/SI/N.i" (i ≥ 1):
// a valid storage index in canonical form whose first two characters
// are PP, and canonical decimals. Anything else is not a share, and the
// result is false.
func ParseChunkPath(rel string) (ChunkRef, bool) {
	rest, ok := strings.CutPrefix(rel, SharesDir+"/")
	if !ok {
		return ChunkRef{}, false
	}
	pp, rest, ok := strings.Cut(rest, "/")
	if !ok || len(pp) != 2 {
		return ChunkRef{}, false
	}
	sis, name, ok := strings.Cut(rest, "/")
	if !ok || len(sis) != sharestore.StorageIndexTextSize || sis[:2] != pp {
		return ChunkRef{}, false
	}
	si, err := sharestore.ParseStorageIndex(sis)
	if err != nil || si.String() != sis {
		return ChunkRef{}, false
	}
	return parseChunkName(si, name)
}

// ParseChunkName parses a name inside si's directory: "N" or "N.i"
// (i ≥ 1).
func ParseChunkName(si sharestore.StorageIndex, name string) (ChunkRef, bool) {
	return parseChunkName(si, name)
}

func parseChunkName(si sharestore.StorageIndex, name string) (ChunkRef, bool) {
	num, suffix, dotted := strings.Cut(name, ".")
	n, ok := ParseShnum(num)
	if !ok {
		return ChunkRef{}, false
	}
	ref := ChunkRef{SI: si, Shnum: n}
	if dotted {
		i, ok := ParseShnum(suffix)
		if !ok || i == 0 {
			return ChunkRef{}, false
		}
		ref.Chunk = int64(i)
	}
	return ref, true
}
