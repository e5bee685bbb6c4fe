// Package clitest holds what the CLI's emulator test packages
// (internal/cli/cloudtests and internal/cli/opentests) share: running the
// CLI in process, a small Tahoe disk store to copy into a bucket, and the
// cloud plugin binary.
package clitest

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/conformance/fixture"
	"github.com/sharestore/sharestore/internal/cli"
)

// RunCode runs sharestore with args in process and returns its exit code,
// stdout and stderr, whatever the code.
func RunCode(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := cli.Main(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// Run runs sharestore with args in process, fails t unless it exits 0,
// and returns its stdout and stderr.
func Run(t *testing.T, args ...string) (string, string) {
	t.Helper()
	code, out, errOut := RunCode(args...)
	if code != 0 {
		t.Fatalf("sharestore %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out, errOut
}

// DiskStoreShares is the number of shares DiskStore writes.
const DiskStoreShares = 25

// DiskStore builds a Tahoe storage directory in a temporary directory of
// t, with the same DiskStoreShares shares every time: immutable shares of
// both versions (one of them 1.3 MB, so three chunks in the cloud),
// mutable shares, a corrupt share, and shnums 1 and 10 side by side.
func DiskStore(t *testing.T) string {
	dir := t.TempDir()
	b, err := disk.Open(dir, disk.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rng := rand.New(rand.NewPCG(1, 1))
	data := func(n int) []byte {
		d := make([]byte, n)
		for i := range d {
			d[i] = byte(rng.UintN(256))
		}
		return d
	}
	put := func(si sharestore.StorageIndex, shnum int, c []byte) {
		if err := b.Shareset(si).PutRaw(context.Background(), shnum, bytes.NewReader(c), int64(len(c))); err != nil {
			t.Fatal(err)
		}
	}
	si := func() sharestore.StorageIndex {
		var s sharestore.StorageIndex
		for i := range s {
			s[i] = byte(rng.UintN(256))
		}
		return s
	}
	a, m, c := si(), si(), si()
	put(a, 1, fixture.ImmutableV1(data(1000)))
	put(a, 10, fixture.ImmutableV2(data(1_300_000)))
	put(m, 0, fixture.Mutable{Version: 1, Data: data(5000), ExtraLeases: 1}.Bytes())
	put(m, 3, fixture.Mutable{Version: 2, Data: data(700_000)}.Bytes())
	put(c, 0, fixture.CorruptContainers()[0].Bytes)
	for i := 0; i < 20; i++ {
		put(si(), i%4, fixture.ImmutableV1(data(100+i)))
	}
	return dir
}

var (
	cloudPluginOnce sync.Once
	cloudPluginBin  string
	cloudPluginErr  error
)

// CloudPlugin builds sharestore-backend-cloud once per test binary, into
// a temporary directory that is left for the system to clean, and returns
// its path.
func CloudPlugin(t *testing.T) string {
	t.Helper()
	cloudPluginOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sharestore-clitest")
		if err != nil {
			cloudPluginErr = err
			return
		}
		cloudPluginBin = filepath.Join(dir, "sharestore-backend-cloud")
		if out, err := exec.Command("go", "build", "-o", cloudPluginBin, "github.com/sharestore/sharestore/cmd/sharestore-backend-cloud").CombinedOutput(); err != nil {
			cloudPluginErr = err
			t.Logf("%s", out)
		}
	})
	if cloudPluginErr != nil {
		t.Fatalf("building the cloud plugin: %v", cloudPluginErr)
	}
	return cloudPluginBin
}
