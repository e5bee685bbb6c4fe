// Package plugintest runs the conformance suite and the crawler scenarios
// against a cloud backend plugin binary, served in a subprocess and
// configured with a backend URL on one of the emulators (package
// internal/emulators). Each plugin command's tests use it, so the
// providers' plugin runs are separate test binaries that go test runs in
// parallel, none of them near its timeout.
package plugintest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud"
	"github.com/sharestore/sharestore/backends/cloud/cloudtest"
	"github.com/sharestore/sharestore/conformance"
	"github.com/sharestore/sharestore/internal/backendurl"
	"github.com/sharestore/sharestore/internal/emulators"
	"github.com/sharestore/sharestore/plugin"
)

// Main is a plugin command's TestMain: it builds the command in the
// working directory (the package under test) into a temporary
// directory, stores the binary's path in *bin, runs the tests with the
// emulators (emulators.Run) and exits with their code.
func Main(m *testing.M, bin *string) {
	dir, err := os.MkdirTemp("", "sharestore-plugin-*")
	if err != nil {
		panic(err)
	}
	*bin = filepath.Join(dir, "plugin")
	out, err := exec.Command("go", "build", "-o", *bin, ".").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := emulators.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// Harness is a conformance.Harness that serves every backend from the
// plugin binary Bin, configured with a fresh key prefix (a fresh bucket
// on fake-gcs-server) on the emulator of Kind: "s3", "gs" or "azblob".
// Raw objects are planted straight into the bucket under the backend's
// key prefix through an in-process store.
type Harness struct {
	Bin, Kind string

	mu   sync.Mutex
	urls map[sharestore.Backend]string
	seq  atomic.Int64
}

// Target returns a fresh backend URL on h's emulator and the credentials
// for it, as plugin secrets.
func (h *Harness) Target(t conformance.TB) (string, map[string]string) {
	kp := cloudtest.FreshPrefix("plugin")
	switch h.Kind {
	case "s3":
		srv := emulators.Get(t, emulators.MinIO)
		return "s3://plugin-test/" + kp + "?region=us-east-1&path_style=true&endpoint=" + srv.Endpoint,
			map[string]string{"AWS_ACCESS_KEY_ID": emulators.MinIOUser, "AWS_SECRET_ACCESS_KEY": emulators.MinIOPassword}
	case "gs":
		// fake-gcs-server scans the whole bucket to list, so each
		// backend gets its own bucket.
		srv := emulators.Get(t, emulators.FakeGCS)
		return fmt.Sprintf("gs://plugin%d/%s?auth=none&endpoint=%s", h.seq.Add(1), kp, srv.Endpoint), map[string]string{}
	case "azblob":
		srv := emulators.Get(t, emulators.Azurite)
		return "azblob://plugin-test/" + kp + "?account=" + emulators.AzuriteAccount + "&endpoint=" + srv.Endpoint + "/" + emulators.AzuriteAccount,
			map[string]string{"AZURE_STORAGE_ACCOUNT": emulators.AzuriteAccount, "AZURE_STORAGE_KEY": emulators.AzuriteAccountKey}
	}
	t.Fatalf("plugintest: unknown kind %q", h.Kind)
	return "", nil
}

// NewBackend starts the plugin on a fresh target.
func (h *Harness) NewBackend(ctx context.Context, t conformance.TB) (sharestore.Backend, error) {
	url, secrets := h.Target(t)
	b, err := plugin.Open(ctx, h.Bin, plugin.Config{URL: url, Create: true, Secrets: secrets}, plugin.HostOptions{})
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	if h.urls == nil {
		h.urls = map[sharestore.Backend]string{}
	}
	h.urls[b] = url
	h.mu.Unlock()
	return b, nil
}

// PlantObject writes key under b's key prefix, in process.
func (h *Harness) PlantObject(ctx context.Context, t conformance.TB, b sharestore.Backend, key string, data []byte) error {
	h.mu.Lock()
	url := h.urls[b]
	h.mu.Unlock()
	_, secrets := h.Target(t)
	getenv := func(k string) string { return secrets[k] }
	cb, err := backendurl.Open(ctx, url, backendurl.Env{Getenv: getenv}, cloud.Options{})
	if err != nil {
		return err
	}
	defer cb.Close()
	return cb.Store().Put(ctx, cb.KeyPrefix()+key, data)
}

// RunAll runs conformance.RunBackend and conformance.RunCrawlers (with the
// disk backend's golden files) against the plugin bin on kind's emulator.
func RunAll(t *testing.T, bin, kind string) {
	t.Run("Conformance", func(t *testing.T) { conformance.RunBackend(t, &Harness{Bin: bin, Kind: kind}) })
	t.Run("Crawlers", func(t *testing.T) { conformance.RunCrawlers(t, &Harness{Bin: bin, Kind: kind}) })
}
