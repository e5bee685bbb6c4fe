package cli

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sharestore/sharestore"
)

// The fixture below is built byte by byte from the container formats
// (docs/formats.md), the way Tahoe-LAFS servers write them, not
// through package share, so it cross-checks the parsers.

func be32(v uint32) []byte { b := make([]byte, 4); binary.BigEndian.PutUint32(b, v); return b }
func be64(v uint64) []byte { b := make([]byte, 8); binary.BigEndian.PutUint64(b, v); return b }

func immLease(owner uint32) []byte {
	b := append(be32(owner), bytes.Repeat([]byte{0xaa}, 64)...)
	return append(b, be32(1700000000)...)
}

func mutLease(owner uint32) []byte {
	b := append(be32(owner), be32(1700000000)...)
	return append(b, bytes.Repeat([]byte{0xbb}, 84)...)
}

func tahoeImmutable(version uint32, data []byte, leases int) []byte {
	b := append(be32(version), be32(uint32(len(data)))...)
	b = append(b, be32(uint32(leases))...)
	b = append(b, data...)
	for i := 0; i < leases; i++ {
		b = append(b, immLease(uint32(i+1))...)
	}
	return b
}

func magic(version int) []byte {
	human := []byte("Tahoe mutable container v1\n")
	tail := []byte{0x75, 0x09, 0x44, 0x03, 0x8e}
	if version == 2 {
		human = []byte("Tahoe mutable container v2\n")
		tag := "allmydata_mutable_container_header"
		h1 := sha256.Sum256(append([]byte("34:"+tag+","), human...))
		h2 := sha256.Sum256(h1[:])
		tail = h2[:5]
	}
	return append(human, tail...)
}

// tahoeMutable builds a mutable container with data, owners in the four
// header slots (0 = empty), extra leases, and an extra-lease offset that
// may lie past the data (as after a Tahoe truncation).
func tahoeMutable(version int, data []byte, slotOwners [4]uint32, extra []uint32, slack int) []byte {
	b := append(magic(version), bytes.Repeat([]byte{0x11}, 20)...) // nodeid
	b = append(b, bytes.Repeat([]byte{0x22}, 32)...)               // write enabler
	b = append(b, be64(uint64(len(data)))...)
	elo := 468 + len(data) + slack
	b = append(b, be64(uint64(elo))...)
	for _, o := range slotOwners {
		if o == 0 {
			b = append(b, make([]byte, 92)...)
		} else {
			b = append(b, mutLease(o)...)
		}
	}
	b = append(b, data...)
	b = append(b, bytes.Repeat([]byte{0x33}, slack)...)
	b = append(b, be32(uint32(len(extra)))...)
	for _, o := range extra {
		b = append(b, mutLease(o)...)
	}
	return b
}

type fixtureShare struct {
	si    string
	shnum int
	raw   []byte
	want  lsRecord
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func buildTahoeStore(t *testing.T) (string, []fixtureShare) {
	root := t.TempDir()
	d1 := []byte("immutable share data v1")
	d2 := bytes.Repeat([]byte("v2 data "), 1000)
	m1 := []byte("mutable slot contents")
	m2 := bytes.Repeat([]byte{7}, 3000)
	mt := []byte("truncated!")
	si := func(i byte) string {
		var s sharestore.StorageIndex
		for j := range s {
			s[j] = i*13 + byte(j)
		}
		return s.String()
	}
	shares := []fixtureShare{
		{si(1), 0, tahoeImmutable(1, d1, 0), lsRecord{Type: "immutable", Version: 1, DataLength: int64(len(d1)), ContainerLeases: 0, DataSHA256: sha(d1)}},
		{si(1), 1, tahoeImmutable(1, d1, 1), lsRecord{Type: "immutable", Version: 1, DataLength: int64(len(d1)), ContainerLeases: 1, DataSHA256: sha(d1)}},
		{si(1), 10, tahoeImmutable(2, d2, 3), lsRecord{Type: "immutable", Version: 2, DataLength: int64(len(d2)), ContainerLeases: 3, DataSHA256: sha(d2)}},
		{si(2), 0, tahoeMutable(1, m1, [4]uint32{1, 0, 0, 0}, nil, 0), lsRecord{Type: "mutable", Version: 1, DataLength: int64(len(m1)), ContainerLeases: 1, DataSHA256: sha(m1)}},
		{si(2), 3, tahoeMutable(2, m2, [4]uint32{0, 5, 0, 6}, []uint32{7, 0, 9}, 0), lsRecord{Type: "mutable", Version: 2, DataLength: int64(len(m2)), ContainerLeases: 4, DataSHA256: sha(m2)}},
		{si(2), 4, tahoeMutable(1, mt, [4]uint32{}, nil, 40), lsRecord{Type: "mutable", Version: 1, DataLength: int64(len(mt)), ContainerLeases: 0, DataSHA256: sha(mt)}},
		{si(2), 5, tahoeMutable(2, nil, [4]uint32{}, nil, 0), lsRecord{Type: "mutable", Version: 2, DataLength: 0, ContainerLeases: 0, DataSHA256: sha(nil)}},
		{si(3), 0, tahoeImmutable(0, d1, 0), lsRecord{Type: "corrupt"}},
		{si(3), 1, []byte{0, 0, 0, 1, 0}, lsRecord{Type: "corrupt"}},
		{si(3), 2, append([]byte("Tahoe mutable container v7\n....."), make([]byte, 500)...), lsRecord{Type: "corrupt"}},
		{si(3), 3, tahoeImmutable(1, []byte("x"), 0)[:12], lsRecord{Type: "immutable", Version: 1, DataSHA256: sha(nil)}},
		{si(3), 4, append(tahoeImmutable(1, nil, 0)[:8], be32(9)...), lsRecord{Type: "corrupt"}},
	}
	for i := range shares {
		s := &shares[i]
		dir := filepath.Join(root, "shares", s.si[:2], s.si)
		os.MkdirAll(dir, 0o755)
		if err := os.WriteFile(filepath.Join(dir, itoa(s.shnum)), s.raw, 0o644); err != nil {
			t.Fatal(err)
		}
		s.want.StorageIndex, s.want.Shnum, s.want.Size = s.si, s.shnum, int64(len(s.raw))
	}
	// Stray files that Tahoe ignores, and an upload in progress.
	os.WriteFile(filepath.Join(root, "shares", si(1)[:2], si(1), "ignore_me.txt"), []byte("x"), 0o644)
	os.MkdirAll(filepath.Join(root, "shares", "incoming", "aa", strings.Repeat("a", 26)), 0o755)
	os.WriteFile(filepath.Join(root, "shares", "incoming", "aa", strings.Repeat("a", 26), "0"), []byte("partial"), 0o644)
	return root, shares
}

func itoa(i int) string { return strconv.Itoa(i) }

func run(t *testing.T, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestLsJSONOverTahoeStore(t *testing.T) {
	root, shares := buildTahoeStore(t)
	code, out, errOut := run(t, "ls", "--backend", "disk:"+root, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(shares) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(shares), out)
	}
	got := map[string]lsRecord{}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		fields := 9 // 10 for a corrupt share: its reason
		if m["type"] == "corrupt" {
			fields = 10
		}
		if len(m) != fields {
			t.Fatalf("record has %d fields: %s", len(m), l)
		}
		for k := range m {
			if !isKebab(k) {
				t.Errorf("key %q is not kebab-case", k)
			}
		}
		var r lsRecord
		json.Unmarshal([]byte(l), &r)
		got[r.StorageIndex+"/"+itoa(r.Shnum)] = r
	}
	for _, s := range shares {
		g, ok := got[s.si+"/"+itoa(s.shnum)]
		if !ok {
			t.Errorf("%s/%d missing", s.si, s.shnum)
			continue
		}
		g.UsedSpace = 0
		if (g.Type == "corrupt") != (g.CorruptReason != "") {
			t.Errorf("%s/%d: type %s with reason %q", s.si, s.shnum, g.Type, g.CorruptReason)
		}
		if strings.Contains(g.CorruptReason, s.si) {
			t.Errorf("%s/%d: the reason repeats the share's name: %q", s.si, s.shnum, g.CorruptReason)
		}
		g.CorruptReason = ""
		if g != s.want {
			t.Errorf("%s/%d:\n got %+v\nwant %+v", s.si, s.shnum, g, s.want)
		}
	}
	// Listing never removed the upload in progress.
	if _, err := os.Stat(filepath.Join(root, "shares", "incoming", "aa", strings.Repeat("a", 26), "0")); err != nil {
		t.Fatal("incoming file removed")
	}
	// --prefix limits the listing.
	code, out, _ = run(t, "ls", "--backend", "disk:"+root, "--json", "--prefix", shares[0].si[:2])
	if code != 0 || strings.Count(out, "\n") != 3 {
		t.Fatalf("prefix listing: %d\n%s", code, out)
	}
	// The table form names the totals, explains its lease column, and
	// lists each corrupt share with its reason.
	code, out, _ = run(t, "ls", "--backend", "disk:"+root)
	if code != 0 || !strings.Contains(out, "12 shares (4 corrupt)") || !strings.Contains(out, "LEASES: lease records inside each container, as Tahoe reports them") {
		t.Fatalf("table: %s", out)
	}
	for _, s := range shares {
		if s.want.Type != "corrupt" {
			continue
		}
		line := fmt.Sprintf("corrupt: SI %s shnum %d: %s\n", s.si, s.shnum, got[s.si+"/"+itoa(s.shnum)].CorruptReason)
		if !strings.Contains(out, line) {
			t.Errorf("table lacks %q:\n%s", line, out)
		}
	}
	if !strings.Contains(out, "unknown immutable container version 0") {
		t.Errorf("the reason of a version 0 container is not given:\n%s", out)
	}
}

// isKebab reports whether k is Tahoe's style of JSON key: lower-case
// words joined by hyphens.
func isKebab(k string) bool {
	if k == "" || k[0] == '-' || k[len(k)-1] == '-' || strings.Contains(k, "--") {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ls --state-dir adds the lease database's count beside the container's:
// the sample store's shares have no lease records in their containers and
// one lease each in the crawl's lease database.
func TestLsLeasedbColumn(t *testing.T) {
	t.Chdir(t.TempDir())
	if code, _, errOut := run(t, "crawl", "--demo", "--once", "--fast", "--progress", "none"); code != 0 {
		t.Fatal(errOut)
	}
	store, state := "disk:"+filepath.Join(defaultDataDir, "storage"), filepath.Join(defaultDataDir, "state")
	code, out, errOut := run(t, "ls", "--backend", store, "--state-dir", state, "--json")
	if code != 0 {
		t.Fatal(errOut)
	}
	n := 0
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r lsRecord
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r.LeasedbLeases == nil || *r.LeasedbLeases != 1 || r.ContainerLeases != 0 {
			t.Fatalf("record %s: want 0 container leases and 1 in the leasedb", l)
		}
		n++
	}
	if n < 800 {
		t.Fatalf("%d shares listed", n)
	}
	code, out, _ = run(t, "ls", "--backend", store, "--state-dir", state, "--prefix", "aa")
	if code != 0 || !strings.Contains(out, "LEASES  LEASEDB") || !strings.Contains(out, "LEASEDB: leases in the lease database of --state-dir") {
		t.Fatalf("table:\n%s", out)
	}
	// Without --state-dir, the JSON has no leasedb key.
	_, out, _ = run(t, "ls", "--backend", store, "--prefix", "aa", "--json")
	if strings.Contains(out, "leasedb-leases") {
		t.Fatalf("leasedb-leases without --state-dir:\n%s", out)
	}
	// Another store's state directory, or a directory that is not one,
	// is refused.
	other, _ := buildTahoeStore(t)
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--backend", "disk:" + other, "--state-dir", state}, "belongs to backend"},
		{[]string{"--backend", store, "--state-dir", t.TempDir()}, "is not a crawl state directory"},
		{[]string{"--backend", store, "--state-dir", filepath.Join(state, leasedbFile)}, "is not a directory"},
	} {
		code, _, errOut := run(t, append([]string{"ls"}, c.args...)...)
		if code != exitUsage || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", c.args, code, errOut, c.msg)
		}
	}
}

func TestLsErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"ls", "--backend", "disk:" + filepath.Join(dir, "nope")}, 2, "does not exist"},
		{[]string{"ls", "--backend", "disk:" + dir}, 2, "not a Tahoe storage directory"},
		{[]string{"ls"}, 2, "--backend is required"},
		{[]string{"ls", "--backend", "ftp:x"}, 2, "unknown scheme"},
		{[]string{"ls", "--backend", "disk:" + dir, "--prefix", "!!"}, 2, "invalid prefix"},
		{[]string{"ls", "--bogus"}, 2, "unknown flag"},
	}
	for _, c := range cases {
		code, _, errOut := run(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, errOut, c.code, c.msg)
		}
	}
}
