package main_test

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

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sharestore-backend-cloud-*")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "sharestore-backend-cloud")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := emulators.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// harness serves every backend from a plugin subprocess configured with
// a backend URL on an emulator; raw objects are planted straight into the
// bucket under the backend's key prefix through an in-process store.
type harness struct {
	kind string // "s3", "gs" or "azblob"
	mu   sync.Mutex
	urls map[sharestore.Backend]string
	seq  atomic.Int64
}

// target returns a fresh backend URL and the credentials for it.
func (h *harness) target(t testing.TB) (string, map[string]string) {
	kp := cloudtest.FreshPrefix("plugin")
	switch h.kind {
	case "s3":
		srv := emulators.Get(t, emulators.MinIO)
		return "s3://plugin-test/" + kp + "?region=us-east-1&path_style=true&endpoint=" + srv.Endpoint,
			map[string]string{"AWS_ACCESS_KEY_ID": emulators.MinIOUser, "AWS_SECRET_ACCESS_KEY": emulators.MinIOPassword}
	case "gs":
		// fake-gcs-server scans the whole bucket to list, so each
		// backend gets its own bucket.
		srv := emulators.Get(t, emulators.FakeGCS)
		return fmt.Sprintf("gs://plugin%d/%s?auth=none&endpoint=%s", h.seq.Add(1), kp, srv.Endpoint), map[string]string{}
	default:
		srv := emulators.Get(t, emulators.Azurite)
		return "azblob://plugin-test/" + kp + "?account=" + emulators.AzuriteAccount + "&endpoint=" + srv.Endpoint + "/" + emulators.AzuriteAccount,
			map[string]string{"AZURE_STORAGE_ACCOUNT": emulators.AzuriteAccount, "AZURE_STORAGE_KEY": emulators.AzuriteAccountKey}
	}
}

func (h *harness) NewBackend(ctx context.Context, t testing.TB) (sharestore.Backend, error) {
	url, secrets := h.target(t)
	b, err := plugin.Open(ctx, bin, plugin.Config{URL: url, Create: true, Secrets: secrets}, plugin.HostOptions{})
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

func (h *harness) PlantObject(ctx context.Context, t testing.TB, b sharestore.Backend, key string, data []byte) error {
	h.mu.Lock()
	url := h.urls[b]
	h.mu.Unlock()
	_, secrets := h.target(t)
	getenv := func(k string) string { return secrets[k] }
	cb, err := backendurl.Open(ctx, url, backendurl.Env{Getenv: getenv}, cloud.Options{})
	if err != nil {
		return err
	}
	defer cb.Close()
	return cb.Store().Put(ctx, cb.KeyPrefix()+key, data)
}

// Each cloud backend passes the conformance suite and the crawler
// scenarios (with the disk backend's golden files) when served by the
// plugin binary in a subprocess.
func TestPluginS3(t *testing.T)    { runAll(t, "s3") }
func TestPluginGCS(t *testing.T)   { runAll(t, "gs") }
func TestPluginAzure(t *testing.T) { runAll(t, "azblob") }

func runAll(t *testing.T, kind string) {
	t.Run("Conformance", func(t *testing.T) { conformance.RunBackend(t, &harness{kind: kind}) })
	t.Run("Crawlers", func(t *testing.T) { conformance.RunCrawlers(t, &harness{kind: kind}) })
}
