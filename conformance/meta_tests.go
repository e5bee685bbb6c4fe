package conformance

import (
	"bytes"
	"errors"

	"github.com/sharestore/sharestore"
)

func metaTests() []test {
	return []test{
		{name: "WriteReadReplace", writes: true, fn: testMetaWriteRead},
		{name: "InvisibleToListings", writes: true, fn: testMetaInvisible},
		{name: "InvalidNames", fn: testMetaInvalid},
	}
}

// metaStore returns the backend's MetaStore, skipping the test when the
// backend keeps no records (through a plugin: when the plugin's backend
// answers ErrUnimplemented).
func (e *env) metaStore() sharestore.MetaStore {
	e.t.Helper()
	m, ok := sharestore.MetaStoreOf(e.b)
	if !ok {
		e.t.Skip("backend does not implement sharestore.MetaStore")
	}
	if _, err := m.ReadMeta(e.ctx, "conformance-probe"); errors.Is(err, sharestore.ErrUnimplemented) {
		e.t.Skipf("backend keeps no metadata records: %v", err)
	}
	return m
}

// A record that was never written is ErrNotFound; a written one reads
// back; writing again replaces it whole.
func testMetaWriteRead(e *env) {
	m := e.metaStore()
	if _, err := m.ReadMeta(e.ctx, "conformance-owner.json"); !errors.Is(err, sharestore.ErrNotFound) {
		e.t.Fatalf("ReadMeta of a missing record: %v, want ErrNotFound", err)
	}
	long := bytes.Repeat([]byte("x"), 5000)
	for _, data := range [][]byte{long, []byte(`{"owner":"b"}`), {}} {
		if err := m.WriteMeta(e.ctx, "conformance-owner.json", data); err != nil {
			e.t.Fatalf("WriteMeta(%d bytes): %v", len(data), err)
		}
		got, err := m.ReadMeta(e.ctx, "conformance-owner.json")
		if err != nil || !bytes.Equal(got, data) {
			e.t.Fatalf("ReadMeta after writing %d bytes = %d bytes, %v", len(data), len(got), err)
		}
	}
	if err := m.WriteMeta(e.ctx, "big", make([]byte, sharestore.MaxMetaSize+1)); !errors.Is(err, sharestore.ErrInvalidArgument) {
		e.t.Errorf("WriteMeta of %d bytes: %v, want ErrInvalidArgument", sharestore.MaxMetaSize+1, err)
	}
}

// Records are never listed, counted or seen as shares, in any prefix.
func testMetaInvisible(e *env) {
	m := e.metaStore()
	si := e.si("aa")
	e.put(si, 0, immutableContainer(1, []byte("data")))
	for _, name := range []string{"aa", "sharestore-owner.json", "shares.json"} {
		if err := m.WriteMeta(e.ctx, name, []byte("not a share")); err != nil {
			e.t.Fatalf("WriteMeta(%s): %v", name, err)
		}
	}
	total := 0
	for _, p := range sharestore.Prefixes() {
		infos, err := e.list(p)
		if err != nil {
			e.t.Fatalf("ListPrefix(%s): %v", p, err)
		}
		total += len(infos)
	}
	if total != 1 {
		e.t.Errorf("listings after writing records hold %d shares, want 1", total)
	}
}

// Names outside the documented alphabet are refused before any I/O.
func testMetaInvalid(e *env) {
	m, ok := sharestore.MetaStoreOf(e.b)
	if !ok {
		e.t.Skip("backend does not implement sharestore.MetaStore")
	}
	for _, name := range []string{"", "shares", "../x", "a/b", ".hidden", "UPPER", string(bytes.Repeat([]byte("a"), 65))} {
		if _, err := m.ReadMeta(e.ctx, name); !errors.Is(err, sharestore.ErrInvalidArgument) {
			e.t.Errorf("ReadMeta(%q): %v, want ErrInvalidArgument", name, err)
		}
		if err := m.WriteMeta(e.ctx, name, nil); !errors.Is(err, sharestore.ErrInvalidArgument) && !e.caps.ReadOnly {
			e.t.Errorf("WriteMeta(%q): %v, want ErrInvalidArgument", name, err)
		}
	}
}
