package plugin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/sharestore/sharestore"
	pb "github.com/sharestore/sharestore/plugin/proto/backendv1"
)

// The packed listing of a ScanPart is part of protocol version 1: a
// plugin written in another language produces it from
// docs/writing-a-backend.md. These tests pin it three ways: the bytes
// the plugin's scan sends, a hex dump kept in testdata/, and the layout
// table of the document, read from the document itself, must agree, so
// that none of them can change without the others. The hex dumps are
// written by hand, field by field; there is no flag that regenerates
// them from the code.

// goldenDoc is the document whose layout tables the tests read.
const goldenDoc = "../docs/writing-a-backend.md"

// goldenShares is the fixed page of the golden test: values chosen so
// that every byte of every field is distinct from its neighbours, with
// the largest share number, a size above 2^32, a used space of 0, a
// modification time before 1970, whose int64 is negative, and one
// share with a Version and one without.
func goldenShares() []sharestore.ShareInfo {
	var a, b sharestore.StorageIndex
	for i := range a {
		a[i], b[i] = byte(i), byte(0xf0+i)
	}
	return []sharestore.ShareInfo{
		{SI: a, Shnum: 1, Size: 0x1234, UsedSpace: 4096, ModTime: time.Unix(1700000000, 123456789), Version: "v1"},
		{SI: b, Shnum: 999999999, Size: 1<<40 + 5, UsedSpace: 0, ModTime: time.Unix(-1, 0)},
	}
}

// readHexDump reads a testdata hex dump: hex digits, with whitespace
// anywhere and '#' starting a comment that runs to the end of the line.
func readHexDump(t *testing.T, name string) []byte {
	t.Helper()
	f, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var digits strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(f))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		digits.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(digits.String())
	if err != nil {
		t.Fatalf("testdata/%s: %v", name, err)
	}
	return b
}

// layoutRow is one row of a layout table of the document.
type layoutRow struct {
	offset, size int
	field        string
	encoding     string
}

// docLayout returns the rows of the first table after the line that
// holds marker in the document: | offset | size | field | encoding |.
func docLayout(t *testing.T, marker string) []layoutRow {
	t.Helper()
	doc, err := os.ReadFile(goldenDoc)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), marker)
	if !ok {
		t.Fatalf("%s has no %q", goldenDoc, marker)
	}
	var rows []layoutRow
	for _, line := range strings.Split(rest, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			if len(rows) > 0 {
				break // the end of the table
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 4 {
			t.Fatalf("%s: layout row %q has %d cells, want 4", goldenDoc, line, len(cells))
		}
		for i := range cells {
			cells[i] = strings.Trim(strings.TrimSpace(cells[i]), "`")
		}
		off, err1 := strconv.Atoi(cells[0])
		size, err2 := strconv.Atoi(cells[1])
		if err1 != nil || err2 != nil {
			continue // the header and the separator
		}
		rows = append(rows, layoutRow{off, size, cells[2], cells[3]})
	}
	if len(rows) == 0 {
		t.Fatalf("%s: no layout table after %q", goldenDoc, marker)
	}
	return rows
}

// encodeByDoc encodes one record as the layout rows describe it, taking
// each field's value from values by the field's name. Every row must
// start where the previous one ended, and an integer must be
// little-endian and as wide as its type.
func encodeByDoc(t *testing.T, rows []layoutRow, values map[string]any) []byte {
	t.Helper()
	var b []byte
	for _, r := range rows {
		if r.offset != len(b) {
			t.Fatalf("%s: field %q at offset %d, but the fields before it end at %d", goldenDoc, r.field, r.offset, len(b))
		}
		v, ok := values[r.field]
		if !ok {
			t.Fatalf("%s: unknown field %q", goldenDoc, r.field)
		}
		width := map[string]int{"uint32": 4, "int64": 8}
		switch enc := r.encoding; {
		case strings.Contains(enc, "bytes"):
			raw := v.([]byte)
			if len(raw) != r.size {
				t.Fatalf("%s: field %q is %d bytes, the value %d", goldenDoc, r.field, r.size, len(raw))
			}
			b = append(b, raw...)
		case strings.Contains(enc, "little-endian") && strings.Contains(enc, "uint32") && r.size == width["uint32"]:
			b = binary.LittleEndian.AppendUint32(b, uint32(v.(int64)))
		case strings.Contains(enc, "little-endian") && strings.Contains(enc, "int64") && r.size == width["int64"]:
			b = binary.LittleEndian.AppendUint64(b, uint64(v.(int64)))
		default:
			t.Fatalf("%s: field %q: encoding %q of %d bytes is none this test knows (raw bytes, little-endian uint32, little-endian int64)", goldenDoc, r.field, enc, r.size)
		}
	}
	return b
}

// fixedPage is a backend whose every prefix holds the golden page.
type fixedPage struct {
	sharestore.Backend // nil: only the listings are called
	shares             []sharestore.ShareInfo
}

func (f fixedPage) ListPrefix(_ context.Context, _ sharestore.Prefix, fn func(sharestore.ShareInfo) error) error {
	for _, s := range f.shares {
		if err := fn(s); err != nil {
			return err
		}
	}
	return nil
}

func (f fixedPage) SharesetsForPrefix(context.Context, sharestore.Prefix) ([]sharestore.StorageIndex, error) {
	var sis []sharestore.StorageIndex
	for _, s := range f.shares {
		sis = append(sis, s.SI)
	}
	return sis, nil
}

// sentPages is a ScanPrefixes server stream that keeps what is sent.
type sentPages struct {
	grpc.ServerStream // nil: never called
	pages             []*pb.ScanPage
}

func (s *sentPages) Send(p *pb.ScanPage) error { s.pages = append(s.pages, p); return nil }

func (s *sentPages) Recv() (*pb.ScanRequest, error) { return nil, io.EOF }

// scanPart is the one part that the plugin's scan writer sends for the
// golden page of prefix p: its shares, or with sharesets its storage
// indexes.
func scanPart(t *testing.T, p sharestore.Prefix, sharesets bool) *pb.ScanPart {
	t.Helper()
	stream := &sentPages{}
	w := &scanWriter{stream: stream, cur: p.Index()}
	l, err := sharestore.ListOne(context.Background(), fixedPage{shares: goldenShares()}, p, sharesets)
	if err != nil {
		t.Fatal(err)
	}
	if sharesets {
		err = w.sharesets(l.Sharesets, p)
	} else {
		err = w.shares(l.Shares, p)
	}
	if err == nil {
		err = w.flush()
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(stream.pages) != 1 || len(stream.pages[0].Parts) != 1 {
		t.Fatalf("the golden page went out as %v, want one page of one part", stream.pages)
	}
	part := stream.pages[0].Parts[0]
	if part.Prefix != string(p) || !part.End {
		t.Fatalf("the part has prefix %q and end %v, want %q and true", part.Prefix, part.End, p)
	}
	return part
}

// The packed shares of a ScanPart: what the plugin sends, the hex dump
// and the document's layout are the same bytes, and the host decodes
// them back into the page. One share has a Version, so the part carries
// one Version per share, "" for the other.
func TestPackedSharesGolden(t *testing.T) {
	page := goldenShares()
	part := scanPart(t, "ab", false)
	dump := readHexDump(t, "packed-shares.hex")
	if !bytes.Equal(part.Shares, dump) {
		t.Fatalf("the plugin sends\n%x\ntestdata/packed-shares.hex holds\n%x", part.Shares, dump)
	}
	if want := []string{"v1", ""}; !slices.Equal(part.Versions, want) {
		t.Fatalf("the part's versions are %q, want %q", part.Versions, want)
	}
	rows := docLayout(t, "<!-- layout: packed share -->")
	var byDoc []byte
	for _, s := range page {
		byDoc = append(byDoc, encodeByDoc(t, rows, map[string]any{
			"storage index":     s.SI[:],
			"shnum":             int64(s.Shnum),
			"size":              s.Size,
			"used space":        s.UsedSpace,
			"modification time": s.ModTime.UnixNano(),
		})...)
	}
	if !bytes.Equal(byDoc, dump) {
		t.Fatalf("the layout of %s gives\n%x\ntestdata/packed-shares.hex holds\n%x", goldenDoc, byDoc, dump)
	}
	if len(byDoc)/len(page) != packedShareSize {
		t.Fatalf("%s describes records of %d bytes, the code %d", goldenDoc, len(byDoc)/len(page), packedShareSize)
	}
	got, err := unpackShares(nil, dump)
	if err == nil {
		err = setVersions(got, part.Versions)
	}
	if err != nil || len(got) != len(page) {
		t.Fatalf("unpackShares: %d records, %v", len(got), err)
	}
	for i, w := range page {
		g := got[i]
		if g.SI != w.SI || g.Shnum != w.Shnum || g.Size != w.Size || g.UsedSpace != w.UsedSpace || !g.ModTime.Equal(w.ModTime) || g.Version != w.Version {
			t.Errorf("record %d decodes to %+v, want %+v", i, g, w)
		}
	}
}

// The packed storage indexes of a sharesets scan, likewise.
func TestPackedSharesetsGolden(t *testing.T) {
	page := goldenShares()
	part := scanPart(t, "ab", true)
	dump := readHexDump(t, "packed-sis.hex")
	if !bytes.Equal(part.Sis, dump) || len(part.Shares) != 0 || len(part.Versions) != 0 {
		t.Fatalf("the plugin sends storage indexes\n%x\n(and %d bytes of shares, %d versions); testdata/packed-sis.hex holds\n%x", part.Sis, len(part.Shares), len(part.Versions), dump)
	}
	rows := docLayout(t, "<!-- layout: packed storage index -->")
	var byDoc []byte
	for _, s := range page {
		byDoc = append(byDoc, encodeByDoc(t, rows, map[string]any{"storage index": s.SI[:]})...)
	}
	if !bytes.Equal(byDoc, dump) {
		t.Fatalf("the layout of %s gives\n%x\ntestdata/packed-sis.hex holds\n%x", goldenDoc, byDoc, dump)
	}
	got, err := unpackSharesets(nil, dump)
	if err != nil || len(got) != 2 || got[0] != page[0].SI || got[1] != page[1].SI {
		t.Fatalf("unpackSharesets = %v, %v", got, err)
	}
}
