package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
)

// sparseShare plants a version 2 immutable share of 1 TiB of data, a
// sparse file that costs nothing on disk, in a fresh disk store.
func sparseShare(t *testing.T) (string, sharestore.ShareID) {
	t.Helper()
	root := t.TempDir()
	b, err := disk.Open(root, disk.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	id := sharestore.ShareID{SI: sharestore.StorageIndex{9, 8, 7}, Shnum: 2}
	path := sharePath(root, id)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(append(be32(2), append(be32(0xffffffff), be32(0)...)...)); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(12 + 1<<40); err != nil {
		t.Skipf("this file system cannot hold a 1 TiB sparse file: %v", err)
	}
	return root, id
}

// runBounded runs the command line like run, but gives up after limit:
// a listing that reads a 1 TiB share whole would take many minutes.
func runBounded(t *testing.T, limit time.Duration, args ...string) (int, string, string) {
	t.Helper()
	type result struct {
		code     int
		out, err string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errOut := run(t, args...)
		done <- result{code, out, errOut}
	}()
	select {
	case r := <-done:
		return r.code, r.out, r.err
	case <-time.After(limit):
		t.Fatalf("sharestore %s did not finish within %s", strings.Join(args, " "), limit)
	}
	return 0, "", ""
}

// ls lists a 1 TiB sparse share at once, with its lengths and leases but
// without a data hash, and says why in the table.
func TestLsSkipsHashOfHugeShare(t *testing.T) {
	root, id := sparseShare(t)
	code, out, errOut := runBounded(t, 60*time.Second, "ls", "--backend", "disk:"+root, "--json")
	if code != 0 {
		t.Fatalf("ls --json: exit %d: %s", code, errOut)
	}
	var rec lsRecord
	if err := json.Unmarshal([]byte(out), &rec); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := lsRecord{StorageIndex: id.SI.String(), Shnum: id.Shnum, Type: "immutable", Version: 2, DataLength: 1 << 40, Size: 12 + 1<<40, UsedSpace: rec.UsedSpace}
	if rec != want {
		t.Fatalf("record\n got %+v\nwant %+v", rec, want)
	}
	code, out, errOut = runBounded(t, 60*time.Second, "ls", "--backend", "disk:"+root)
	if code != 0 || !strings.Contains(out, "1 shares not hashed: more than --max-hash-size 1.0 GiB of data") {
		t.Fatalf("ls: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	if !strings.Contains(out, "  -\n") {
		t.Fatalf("the table does not mark the missing hash with -:\n%s", out)
	}
}

// --max-hash-size bounds hashing either way: lowered, shares above it go
// unhashed and the rest keep their hashes; it is parsed as a size.
func TestLsMaxHashSizeFlag(t *testing.T) {
	root, shares := buildTahoeStore(t)
	code, out, errOut := run(t, "ls", "--backend", "disk:"+root, "--json", "--max-hash-size", "100B")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := map[string]lsRecord{}
	for _, s := range shares {
		w := s.want
		if w.DataLength > 100 {
			w.DataSHA256 = ""
		}
		want[s.si+"/"+itoa(s.shnum)] = w
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r lsRecord
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		r.UsedSpace, r.CorruptReason = 0, "" // TestLsJSONOverTahoeStore checks reasons
		if w := want[r.StorageIndex+"/"+itoa(r.Shnum)]; r != w {
			t.Errorf("got %+v\nwant %+v", r, w)
		}
	}
	if code, _, errOut := run(t, "ls", "--backend", "disk:"+root, "--max-hash-size", "lots"); code != 2 || !strings.Contains(errOut, `--max-hash-size "lots"`) {
		t.Fatalf("bad size: exit %d, stderr %q", code, errOut)
	}
}
