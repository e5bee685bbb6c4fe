package share

import (
	"encoding/binary"
	"testing"

	"github.com/sharestore/sharestore"
)

func seeds(f *testing.F) {
	f.Add(immutable(1, 1, 1, []byte("a")))
	f.Add(immutable(2, 0, 0, []byte("hello")))
	f.Add(immutable(0, 0, 0, []byte("x")))
	f.Add([]byte{0, 0, 0, 1})
	f.Add(NewMutable(1, sharestore.NodeID{}, sharestore.WriteEnabler{}))
	f.Add(NewMutable(2, sharestore.NodeID{1}, sharestore.WriteEnabler{2}))
	m := NewMutable(1, sharestore.NodeID{}, sharestore.WriteEnabler{})
	binary.BigEndian.PutUint32(m[468:], 3)
	f.Add(m)
	f.Add([]byte("Tahoe mutable container v3\n12345"))
	f.Add([]byte{})
}

// FuzzClassify: any bytes classify without panicking, and a successful
// classification is self-consistent.
func FuzzClassify(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := Classify(b[:min(len(b), HeaderReadSize)], int64(len(b)))
		if err != nil {
			return
		}
		if h.DataOffset+h.DataLength > int64(len(b)) || h.DataLength < 0 {
			t.Fatalf("data range outside container: %+v", h)
		}
		r := &Buffer{B: b}
		if _, err := ReadData(r, h, 0, h.DataLength); err != nil {
			t.Fatalf("read of classified share failed: %v", err)
		}
	})
}

// FuzzLeases: lease parsing never panics on any container.
func FuzzLeases(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := Classify(b[:min(len(b), HeaderReadSize)], int64(len(b)))
		if err != nil {
			return
		}
		_, _ = Leases(&Buffer{B: b}, h)
	})
}

// FuzzMutableWrites: applying a write to any valid mutable container
// keeps it valid and makes the written bytes readable.
func FuzzMutableWrites(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := Classify(b[:min(len(b), HeaderReadSize)], int64(len(b)))
		if err != nil || h.Type != sharestore.ShareTypeMutable || len(b) > 1<<16 {
			return
		}
		off := int64(len(b) % 700)
		payload := b[:min(len(b), 64)]
		buf := &Buffer{B: append([]byte(nil), b...)}
		h2, err := ApplyMutableWrites(buf, h, []sharestore.DataVector{{Offset: off, Data: payload}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		h3, err := Classify(buf.B[:min(len(buf.B), HeaderReadSize)], buf.Size())
		if err != nil {
			t.Fatalf("write produced an invalid container: %v", err)
		}
		if h3.DataLength != h2.DataLength {
			t.Fatalf("header mismatch")
		}
		got, err := ReadData(buf, h3, off, int64(len(payload)))
		if err != nil || string(got) != string(payload) {
			t.Fatalf("readback %q != %q (%v)", got, payload, err)
		}
	})
}
