package cloud

import (
	"strconv"
	"strings"

	"github.com/sharestore/sharestore"
)

// Key layout, relative to the backend's key prefix:
//
//	shares/PP/SI/N     chunk 0 of share N of storage index SI
//	shares/PP/SI/N.i   chunk i (i ≥ 1)
//
// with N and i in canonical decimal (no sign, no leading zeros).

// sharesRoot is the first key component of every share object.
const sharesRoot = "shares/"

func prefixKey(p sharestore.Prefix) string { return sharesRoot + string(p) + "/" }

func siKey(si sharestore.StorageIndex) string {
	s := si.String()
	return sharesRoot + s[:2] + "/" + s + "/"
}

// ChunkKey returns the key of chunk i of share (si, shnum), relative to
// the key prefix: shares/PP/SI/N for chunk 0 and shares/PP/SI/N.i after.
func ChunkKey(si sharestore.StorageIndex, shnum int, i int64) string {
	k := siKey(si) + strconv.Itoa(shnum)
	if i > 0 {
		k += "." + strconv.FormatInt(i, 10)
	}
	return k
}

// parseDecimal accepts canonical decimal numbers below 10^9.
func parseDecimal(s string) (int64, bool) {
	if s == "" || len(s) > 9 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// chunkRef is a parsed share-object key.
type chunkRef struct {
	si    sharestore.StorageIndex
	shnum int
	chunk int64
}

// parseChunkKey parses a key relative to the key prefix. It accepts only
// shares/PP/SI/N or shares/PP/SI/N.i with i ≥ 1, a valid SI whose first
// two characters are PP, and canonical decimals; anything else is a
// foreign object and is ignored.
func parseChunkKey(rel string) (chunkRef, bool) {
	rest, ok := strings.CutPrefix(rel, sharesRoot)
	if !ok {
		return chunkRef{}, false
	}
	pp, rest, ok := strings.Cut(rest, "/")
	if !ok || len(pp) != 2 {
		return chunkRef{}, false
	}
	sis, name, ok := strings.Cut(rest, "/")
	if !ok || len(sis) != sharestore.StorageIndexTextSize || sis[:2] != pp || strings.Contains(name, "/") {
		return chunkRef{}, false
	}
	si, err := sharestore.ParseStorageIndex(sis)
	if err != nil || si.String() != sis {
		return chunkRef{}, false
	}
	num, suffix, dotted := strings.Cut(name, ".")
	n, ok := parseDecimal(num)
	if !ok {
		return chunkRef{}, false
	}
	ref := chunkRef{si: si, shnum: int(n)}
	if dotted {
		i, ok := parseDecimal(suffix)
		if !ok || i == 0 {
			return chunkRef{}, false
		}
		ref.chunk = i
	}
	return ref, true
}
