// Package cloudtests drives the sharestore CLI against the cloud
// emulators: mkbucket, then copy from a Tahoe disk store into each cloud,
// then ls --json on both sides.
package cloudtests

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/conformance/fixture"
	"github.com/sharestore/sharestore/internal/cli"
	"github.com/sharestore/sharestore/internal/emulators"
)

func TestMain(m *testing.M) { os.Exit(emulators.Run(m)) }

func run(t *testing.T, args ...string) (string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := cli.Main(args, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("sharestore %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	return out.String(), errb.String()
}

// diskStore builds a Tahoe storage directory with immutable shares of
// both versions (one of them 1.3 MB, so three chunks in the cloud),
// mutable shares, a corrupt share and shnums 1 and 10 side by side.
func diskStore(t *testing.T) string {
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

var usedSpace = regexp.MustCompile(`"used-space":[0-9]+,`)

// records returns ls --json of backend with used-space removed: it is
// what a share costs its backend (disk blocks, or bytes in a bucket), the
// one field that differs by design between a disk and a cloud copy.
func records(t *testing.T, backend string) string {
	out, _ := run(t, "ls", "--json", "--backend", backend)
	return usedSpace.ReplaceAllString(out, "")
}

type cloudURL struct {
	name string
	url  func(t *testing.T) string
}

func clouds() []cloudURL {
	return []cloudURL{
		{"s3", func(t *testing.T) string {
			srv := emulators.Get(t, emulators.MinIO)
			t.Setenv("AWS_ACCESS_KEY_ID", emulators.MinIOUser)
			t.Setenv("AWS_SECRET_ACCESS_KEY", emulators.MinIOPassword)
			t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
			return "s3://copy-test/server1?region=us-east-1&path_style=true&endpoint=" + srv.Endpoint
		}},
		{"gcs", func(t *testing.T) string {
			srv := emulators.Get(t, emulators.FakeGCS)
			t.Setenv("STORAGE_EMULATOR_HOST", srv.Host)
			return "gs://copy-test/server1"
		}},
		{"azure", func(t *testing.T) string {
			srv := emulators.Get(t, emulators.Azurite)
			t.Setenv("AZURE_STORAGE_ACCOUNT", emulators.AzuriteAccount)
			t.Setenv("AZURE_STORAGE_KEY", emulators.AzuriteAccountKey)
			return "azblob://copy-test/server1?endpoint=" + srv.Endpoint + "/" + emulators.AzuriteAccount
		}},
	}
}

// sharestore copy from a Tahoe disk store to each cloud, then ls --json on
// both sides, gives identical records; a second copy skips everything.
func TestCopyDiskToCloud(t *testing.T) {
	src := "disk:" + diskStore(t)
	want := records(t, src)
	if n := strings.Count(want, "\n"); n != 25 {
		t.Fatalf("source lists %d shares, want 25", n)
	}
	for _, c := range clouds() {
		t.Run(c.name, func(t *testing.T) {
			dst := c.url(t)
			run(t, "mkbucket", "--backend", dst)
			run(t, "mkbucket", "--backend", dst) // idempotent
			out, progress := run(t, "copy", "--from", src, "--to", dst)
			if !strings.Contains(out, "copied 25 shares") || !strings.Contains(progress, "copy: prefix") {
				t.Fatalf("copy said %q, progress %q", out, progress)
			}
			got := records(t, dst)
			if got != want {
				t.Fatalf("ls --json differs:\n cloud: %s\n disk:  %s", got, want)
			}
			out, _ = run(t, "copy", "--from", src, "--to", dst)
			if !strings.Contains(out, "copied 0 shares") || !strings.Contains(out, "skipped 25") {
				t.Fatalf("second copy said %q", out)
			}
			// And back: a cloud store copies into a fresh disk store.
			back := "disk:" + t.TempDir()
			run(t, "copy", "--from", dst, "--to", back)
			if got := records(t, back); got != want {
				t.Fatalf("round trip through %s changed ls --json", c.name)
			}
		})
	}
}
