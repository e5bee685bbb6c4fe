package share

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/sharestore/sharestore"
)

func immutable(version, legacy, nleases uint32, data []byte) []byte {
	b := make([]byte, 12)
	binary.BigEndian.PutUint32(b[0:], version)
	binary.BigEndian.PutUint32(b[4:], legacy)
	binary.BigEndian.PutUint32(b[8:], nleases)
	b = append(b, data...)
	for i := uint32(0); i < nleases; i++ {
		rec := make([]byte, 72)
		binary.BigEndian.PutUint32(rec[0:], i+1)
		binary.BigEndian.PutUint32(rec[68:], 1234567)
		b = append(b, rec...)
	}
	return b
}

func classify(t *testing.T, b []byte) (Header, error) {
	t.Helper()
	return Classify(b[:min(len(b), HeaderReadSize)], int64(len(b)))
}

func TestMutableMagics(t *testing.T) {
	if !bytes.HasPrefix(MutableMagicV1[:], []byte("Tahoe mutable container v1\n")) ||
		hex.EncodeToString(MutableMagicV1[27:]) != "750944038e" {
		t.Fatalf("v1 magic %q", MutableMagicV1)
	}
	if !bytes.HasPrefix(MutableMagicV2[:], []byte("Tahoe mutable container v2\n")) || MutableMagicV2 == MutableMagicV1 {
		t.Fatalf("v2 magic %q", MutableMagicV2)
	}
}

func TestClassifyImmutable(t *testing.T) {
	// Scenario 4: >LLL(1,1,1) + "a" + 72 bytes has data_length 1.
	b := immutable(1, 1, 1, []byte("a"))
	h, err := classify(t, b)
	if err != nil || h.Type != sharestore.ShareTypeImmutable || h.Version != 1 || h.DataLength != 1 || h.NumLeases != 1 {
		t.Fatalf("%+v %v", h, err)
	}
	r := &Buffer{B: b}
	for _, c := range []struct {
		off, n int64
		want   string
	}{{0, 74, "a"}, {2, 3, ""}, {1, 5, ""}, {0, 1, "a"}, {0, 0, ""}} {
		got, err := ReadData(r, h, c.off, c.n)
		if err != nil || string(got) != c.want {
			t.Errorf("read(%d,%d) = %q, %v", c.off, c.n, got, err)
		}
	}
	if _, err := ReadData(r, h, -1, 2); !errors.Is(err, sharestore.ErrInvalidArgument) {
		t.Errorf("negative offset: %v", err)
	}
	ls, err := Leases(r, h)
	if err != nil || len(ls) != 1 || ls[0].Owner != 1 || ls[0].Expiration != 1234567 {
		t.Fatalf("leases %+v %v", ls, err)
	}
	// v2
	h, err = classify(t, immutable(2, 0, 0, []byte("hello")))
	if err != nil || h.Version != 2 || h.DataLength != 5 {
		t.Fatalf("v2 %+v %v", h, err)
	}
}

func TestClassifyCorrupt(t *testing.T) {
	unknownMutable := append([]byte("Tahoe mutable container v9\nxxxxx"), make([]byte, 500)...)
	badMagic := append([]byte("BAD MAGIC"), NewMutable(1, sharestore.NodeID{}, sharestore.WriteEnabler{})[9:]...)
	shortMutable := NewMutable(1, sharestore.NodeID{}, sharestore.WriteEnabler{})[:99]
	longData := NewMutable(1, sharestore.NodeID{}, sharestore.WriteEnabler{})
	binary.BigEndian.PutUint64(longData[84:], 10)
	hugeData := NewMutable(2, sharestore.NodeID{}, sharestore.WriteEnabler{})
	binary.BigEndian.PutUint64(hugeData[84:], 1<<63)
	badElo := NewMutable(1, sharestore.NodeID{}, sharestore.WriteEnabler{})
	binary.BigEndian.PutUint64(badElo[92:], 10)
	cases := map[string]struct {
		b      []byte
		reason string
	}{
		"version 0":           {immutable(0, 0, 0, []byte("x")), "unknown immutable container version 0"},
		"version 3":           {immutable(3, 0, 0, nil), "version 3"},
		"empty":               {nil, "truncated"},
		"short header":        {[]byte{0, 0, 0, 1, 0}, "truncated"},
		"leases past end":     {immutable(1, 0, 0, make([]byte, 10))[:12+10], ""},
		"negative length":     {append(immutable(1, 0, 0, nil)[:8], 0, 0, 0, 5), "cannot hold 5 lease"},
		"unknown mutable":     {unknownMutable, "unknown mutable container version"},
		"bad magic":           {badMagic, "unknown immutable container version"},
		"short mutable":       {shortMutable, "mutable header truncated"},
		"data past end":       {longData, "shorter than its header"},
		"huge data length":    {hugeData, "exceeds the maximum"},
		"bad extra lease off": {badElo, "extra-lease offset"},
	}
	for name, c := range cases {
		h, err := classify(t, c.b)
		if name == "leases past end" {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if !errors.Is(err, sharestore.ErrCorrupt) || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s: got %+v, %v; want corrupt %q", name, h, err, c.reason)
		}
	}
}

func TestClassifyNeedsEnoughBytes(t *testing.T) {
	b := NewMutable(1, sharestore.NodeID{}, sharestore.WriteEnabler{})
	if _, err := Classify(b[:50], int64(len(b))); !errors.Is(err, sharestore.ErrInvalidArgument) {
		t.Fatalf("got %v", err)
	}
}

func TestNewMutable(t *testing.T) {
	var node sharestore.NodeID
	var we sharestore.WriteEnabler
	copy(we[:], "we-secret")
	for _, v := range []int{1, 2} {
		b := NewMutable(v, node, we)
		if len(b) != 472 {
			t.Fatalf("size %d", len(b))
		}
		h, err := classify(t, b)
		if err != nil || h.Version != v || h.DataLength != 0 || h.ExtraLeaseOffset != 468 || h.WriteEnabler != we {
			t.Fatalf("%+v %v", h, err)
		}
		ls, err := Leases(&Buffer{B: b}, h)
		if err != nil || len(ls) != 0 {
			t.Fatalf("leases %v %v", ls, err)
		}
	}
}

func TestMutableLeaseCount(t *testing.T) {
	b := NewMutable(1, sharestore.NodeID{}, sharestore.WriteEnabler{})
	// owner 7 in slot 1, slot 0 and 2,3 empty
	binary.BigEndian.PutUint32(b[100+92:], 7)
	// one extra lease with owner 9, one with owner 0
	binary.BigEndian.PutUint32(b[468:], 2)
	extra := make([]byte, 2*92)
	binary.BigEndian.PutUint32(extra[0:], 9)
	b = append(b, extra...)
	h, err := classify(t, b)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := Leases(&Buffer{B: b}, h)
	if err != nil || len(ls) != 2 || ls[0].Owner != 7 || ls[1].Owner != 9 {
		t.Fatalf("%+v %v", ls, err)
	}
	// a count that does not fit is corrupt
	binary.BigEndian.PutUint32(b[468:], 50)
	if _, err := Leases(&Buffer{B: b}, h); !errors.Is(err, sharestore.ErrCorrupt) {
		t.Fatalf("got %v", err)
	}
}

func TestImmutableHeader(t *testing.T) {
	h := NewImmutableHeader(1, 5)
	if !bytes.Equal(h, []byte{0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 0}) {
		t.Fatalf("%x", h)
	}
	h = NewImmutableHeader(2, 1<<40)
	if !bytes.Equal(h, []byte{0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}) {
		t.Fatalf("%x", h)
	}
}
