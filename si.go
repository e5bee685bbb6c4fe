package sharestore

import (
	"cmp"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"math/bits"
	"sort"
)

// Alphabet is Tahoe-LAFS's base32 alphabet: lowercase RFC 3548, used
// without padding.
const Alphabet = "abcdefghijklmnopqrstuvwxyz234567"

// Encoding is the base32 encoding Tahoe-LAFS uses for storage indexes and
// node IDs: the lowercase RFC 3548 alphabet without padding.
var Encoding = base32.NewEncoding(Alphabet).WithPadding(base32.NoPadding)

// StorageIndexSize is the length of a storage index in bytes.
const StorageIndexSize = 16

// StorageIndexTextSize is the length of the text form of a storage index.
const StorageIndexTextSize = 26

// StorageIndex names one file's shares on a server. Its text form is 26
// characters of lowercase base32 without padding.
type StorageIndex [StorageIndexSize]byte

// String returns the 26-character base32 text form of si.
func (si StorageIndex) String() string { return Encoding.EncodeToString(si[:]) }

// Prefix returns the first two characters of si's text form, which name
// the prefix directory (or key prefix) that holds it.
func (si StorageIndex) Prefix() Prefix { return Prefix(si.String()[:2]) }

// MarshalText implements encoding.TextMarshaler with the base32 form.
func (si StorageIndex) MarshalText() ([]byte, error) { return []byte(si.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler; it accepts exactly the
// forms ParseStorageIndex accepts.
func (si *StorageIndex) UnmarshalText(b []byte) error {
	v, err := ParseStorageIndex(string(b))
	if err != nil {
		return err
	}
	*si = v
	return nil
}

// Compare returns -1, 0 or +1 as si sorts before, equal to or after o in
// Tahoe's order: the bytewise order of the text forms (in which digits
// sort before letters, unlike the raw bytes). It encodes nothing: the
// order is decided by the first 5-bit group in which the two differ.
func (si StorageIndex) Compare(o StorageIndex) int {
	ah, al := binary.BigEndian.Uint64(si[:8]), binary.BigEndian.Uint64(si[8:])
	bh, bl := binary.BigEndian.Uint64(o[:8]), binary.BigEndian.Uint64(o[8:])
	var first int // the first bit, from the most significant, that differs
	switch {
	case ah != bh:
		first = bits.LeadingZeros64(ah ^ bh)
	case al != bl:
		first = 64 + bits.LeadingZeros64(al^bl)
	default:
		return 0
	}
	g := first / 5 * 5
	if textRank(group5(ah, al, g)) < textRank(group5(bh, bl, g)) {
		return -1
	}
	return 1
}

// group5 returns the 5-bit group of the 128-bit value hi:lo that starts
// off bits from the most significant bit; bits past the end read as
// zero, as base32 pads the last character.
func group5(hi, lo uint64, off int) uint64 {
	var v uint64
	switch {
	case off+5 <= 64:
		v = hi >> (59 - off)
	case off >= 64:
		v = lo << (off - 64) >> 59 // the shift fills past-the-end bits with zeros
	default:
		v = hi<<(off-59) | lo>>(123-off)
	}
	return v & 31
}

// textRank maps a base32 digit value to the position of its character in
// byte order: "234567" (values 26-31) sort before "a".."z" (0-25).
func textRank(v uint64) uint64 { return (v + 6) & 31 }

// ParseStorageIndex parses the 26-character base32 text form of a storage
// index. Anything else (wrong length, characters outside the alphabet,
// uppercase, or non-zero trailing bits) fails with an error that wraps
// ErrInvalidArgument and quotes the input.
func ParseStorageIndex(s string) (StorageIndex, error) {
	var si StorageIndex
	if len(s) != StorageIndexTextSize {
		return si, Errorf(ErrInvalidArgument, "invalid storage index %q: want %d base32 characters, got %d", clip(s), StorageIndexTextSize, len(s))
	}
	for i := 0; i < len(s); i++ {
		if alphabetIndex(s[i]) < 0 {
			return si, Errorf(ErrInvalidArgument, "invalid storage index %q: character %q at position %d is not in the base32 alphabet %s", s, s[i], i, Alphabet)
		}
	}
	n, err := Encoding.Decode(si[:], []byte(s))
	if err != nil || n != StorageIndexSize {
		return si, Errorf(ErrInvalidArgument, "invalid storage index %q: not base32", s)
	}
	if si.String() != s {
		return si, Errorf(ErrInvalidArgument, "invalid storage index %q: not in canonical form (last character has non-zero padding bits)", s)
	}
	return si, nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func alphabetIndex(c byte) int {
	switch {
	case c >= 'a' && c <= 'z':
		return int(c - 'a')
	case c >= '2' && c <= '7':
		return int(c-'2') + 26
	}
	return -1
}

// Prefix is the first two characters of a storage index's text form. There
// are 1024 prefixes; crawlers walk them in the order Prefixes returns.
type Prefix string

// NumPrefixes is the number of distinct prefixes.
const NumPrefixes = 1024

var (
	prefixes     []Prefix
	prefixIndex  map[Prefix]int
	sortedLetter = sortedAlphabet()
)

func sortedAlphabet() string {
	b := []byte(Alphabet)
	sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
	return string(b)
}

func init() {
	prefixes = make([]Prefix, 0, NumPrefixes)
	prefixIndex = make(map[Prefix]int, NumPrefixes)
	for i := 0; i < len(sortedLetter); i++ {
		for j := 0; j < len(sortedLetter); j++ {
			p := Prefix([]byte{sortedLetter[i], sortedLetter[j]})
			prefixIndex[p] = len(prefixes)
			prefixes = append(prefixes, p)
		}
	}
}

// Prefixes returns the 1024 prefixes in Tahoe's bytewise order: "22",
// "23", …, "27", "2a", …, "zz". The returned slice is a fresh copy.
func Prefixes() []Prefix {
	out := make([]Prefix, len(prefixes))
	copy(out, prefixes)
	return out
}

// PrefixAt returns the prefix at index i of Prefixes. It panics if i is
// outside [0, NumPrefixes).
func PrefixAt(i int) Prefix { return prefixes[i] }

// Index returns p's position in Prefixes, or -1 if p is not a valid prefix.
func (p Prefix) Index() int {
	if i, ok := prefixIndex[p]; ok {
		return i
	}
	return -1
}

// Valid reports whether p is one of the 1024 prefixes.
func (p Prefix) Valid() bool { return p.Index() >= 0 }

// ParsePrefix checks that s is one of the 1024 prefixes. Anything else
// fails with an error that wraps ErrInvalidArgument.
func ParsePrefix(s string) (Prefix, error) {
	p := Prefix(s)
	if !p.Valid() {
		return "", Errorf(ErrInvalidArgument, "invalid prefix %q: want two characters of the base32 alphabet %s", clip(s), Alphabet)
	}
	return p, nil
}

// ShareID names one share: a storage index and a share number.
type ShareID struct {
	SI    StorageIndex
	Shnum int
}

// String returns "SI/shnum".
func (id ShareID) String() string { return fmt.Sprintf("%s/%d", id.SI, id.Shnum) }

// Compare orders share IDs as listings do: by storage index (in the
// order of their text form), then by share number. It returns -1, 0 or
// +1.
func (id ShareID) Compare(o ShareID) int {
	if c := id.SI.Compare(o.SI); c != 0 {
		return c
	}
	return cmp.Compare(id.Shnum, o.Shnum)
}
