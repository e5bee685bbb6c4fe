package cli

import (
	"testing"

	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/crawler"
)

// A disk store is named by its absolute storage directory, however the
// URL spelled it and whatever wraps the backend.
func TestBackendIdentityOfDisk(t *testing.T) {
	root := t.TempDir()
	b, err := disk.Open(root, disk.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	want := "disk:" + b.Root()
	for name, got := range map[string]string{
		"bare":         backendIdentity(b, "disk:./relative"),
		"rate limited": backendIdentity(crawler.RateLimit(b, 5, 1, crawler.RealClock{}), "disk:./relative"),
		"counted":      backendIdentity(countListed(crawler.RateLimit(b, 5, 1, crawler.RealClock{}), nil), "disk:./relative"),
	} {
		if got != want {
			t.Errorf("%s: identity %q, want %q", name, got, want)
		}
	}
}
