// Package cloudtests drives the sharestore CLI against the cloud
// emulators: mkbucket, then copy from a Tahoe disk store into each cloud,
// then ls --json on both sides.
package cloudtests

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/sharestore/sharestore/internal/cli/clitest"
	"github.com/sharestore/sharestore/internal/emulators"
)

func TestMain(m *testing.M) { os.Exit(emulators.Run(m)) }

var (
	run       = clitest.Run
	diskStore = clitest.DiskStore
)

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
