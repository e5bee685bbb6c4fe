package sharestore

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestPrefixOrder(t *testing.T) {
	ps := Prefixes()
	if len(ps) != NumPrefixes {
		t.Fatalf("len = %d", len(ps))
	}
	for i := 1; i < len(ps); i++ {
		if ps[i-1] >= ps[i] {
			t.Fatalf("not bytewise sorted at %d: %q >= %q", i, ps[i-1], ps[i])
		}
	}
	for p, want := range map[Prefix]int{"22": 0, "23": 1, "27": 5, "2a": 6, "aa": 198, "sg": 780, "zz": 1023} {
		if got := p.Index(); got != want {
			t.Errorf("index(%q) = %d, want %d", p, got, want)
		}
		if PrefixAt(want) != p {
			t.Errorf("PrefixAt(%d) = %q", want, PrefixAt(want))
		}
	}
	for _, bad := range []string{"", "a", "aaa", "AA", "a1", "a8", "0a", "a/"} {
		if _, err := ParsePrefix(bad); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("ParsePrefix(%q) = %v", bad, err)
		}
	}
}

func TestPrefixMatchesTahoeDefinition(t *testing.T) {
	// Tahoe: sorted(si_b2a(struct.pack(">H", i << 6))[:2] for i in range(1024))
	seen := map[Prefix]bool{}
	for i := 0; i < 1024; i++ {
		v := uint16(i << 6)
		p := Prefix(Encoding.EncodeToString([]byte{byte(v >> 8), byte(v)})[:2])
		if !p.Valid() {
			t.Fatalf("%q not valid", p)
		}
		seen[p] = true
	}
	if len(seen) != 1024 {
		t.Fatalf("got %d distinct", len(seen))
	}
}

func TestStorageIndexText(t *testing.T) {
	var zero StorageIndex
	if s := zero.String(); s != strings.Repeat("a", 26) {
		t.Fatalf("zero SI = %q", s)
	}
	var ones StorageIndex
	for i := range ones {
		ones[i] = 1
	}
	if s := ones.String(); s != "aeaqcaibaeaqcaibaeaqcaibae" || ones.Prefix() != "ae" {
		t.Fatalf("ones SI = %q prefix %q", s, ones.Prefix())
	}
	// Tahoe test: si_b2a("si1") == "onutc"
	if s := Encoding.EncodeToString([]byte("si1")); s != "onutc" {
		t.Fatalf("si1 = %q", s)
	}
	for i := 0; i < 300; i++ {
		var si StorageIndex
		for j := range si {
			si[j] = byte(i*31 + j*7)
		}
		got, err := ParseStorageIndex(si.String())
		if err != nil || got != si {
			t.Fatalf("round trip %x: %v %x", si, err, got)
		}
		b, _ := si.MarshalText()
		var back StorageIndex
		if err := back.UnmarshalText(b); err != nil || back != si {
			t.Fatalf("text round trip: %v", err)
		}
	}
	bad := []string{
		"",
		"aaaa",
		strings.Repeat("a", 25),
		strings.Repeat("a", 27),
		strings.Repeat("A", 26),
		strings.Repeat("a", 25) + "1",
		strings.Repeat("a", 25) + "b", // non-zero padding bits
		strings.Repeat("a", 24) + "/a",
	}
	for _, s := range bad {
		_, err := ParseStorageIndex(s)
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("ParseStorageIndex(%q) = %v, want invalid argument", s, err)
		} else if !strings.Contains(err.Error(), "invalid storage index") {
			t.Errorf("message %q", err)
		}
	}
}

func TestStorageIndexCompare(t *testing.T) {
	a, _ := ParseStorageIndex("aaaaaaaaaaaaaaaaaaaaaaaaaa")
	b, _ := ParseStorageIndex("aeaqcaibaeaqcaibaeaqcaibae")
	if a.Compare(b) != -1 || b.Compare(a) != 1 || a.Compare(a) != 0 {
		t.Fatal("compare")
	}
	if !(a.String() < b.String()) {
		t.Fatal("text order")
	}
	// Raw bytes and text disagree: 0xd0… encodes to "2…", which sorts
	// before "a…" as text although 0xd0 > 0x00.
	var hi StorageIndex
	hi[0] = 0xd0
	if hi.String()[0] != '2' || hi.Compare(a) != -1 || a.Compare(hi) != 1 {
		t.Fatalf("Compare must follow the text order: %s vs %s", hi, a)
	}
}

// TestStorageIndexCompareMatchesText checks Compare against the order of
// the text forms on random pairs, on pairs that differ in one bit (every
// one of the 128, so every 5-bit group and the padded last one is the
// first difference somewhere) and on pairs that differ in one byte.
func TestStorageIndexCompareMatchesText(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func() (si StorageIndex) {
		for i := range si {
			si[i] = byte(rng.UintN(256))
		}
		return si
	}
	want := func(a, b StorageIndex) int { return strings.Compare(a.String(), b.String()) }
	check := func(a, b StorageIndex) {
		t.Helper()
		if got, w := a.Compare(b), want(a, b); got != w {
			t.Fatalf("%s.Compare(%s) = %d, text order says %d", a, b, got, w)
		}
	}
	for range 20000 {
		a := random()
		check(a, random())
		check(a, a)
		for bit := range 128 {
			b := a
			b[bit/8] ^= 0x80 >> (bit % 8)
			check(a, b)
			check(b, a)
		}
		b := a
		b[rng.IntN(len(b))] = byte(rng.UintN(256))
		check(a, b)
	}
}
