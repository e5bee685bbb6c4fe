package main_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/cloud/cloudtest"
	"github.com/sharestore/sharestore/backends/s3"
	"github.com/sharestore/sharestore/conformance"
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
// an s3:// URL on MinIO; raw objects are planted straight into the
// bucket under the backend's key prefix.
type harness struct {
	mu       sync.Mutex
	prefixes map[sharestore.Backend]string
}

func (h *harness) minio(t testing.TB) (s3.Config, string) {
	srv := emulators.Get(t, emulators.MinIO)
	c := s3.Config{Bucket: "plugin-test", Region: "us-east-1", Endpoint: srv.Endpoint, PathStyle: true,
		AccessKeyID: emulators.MinIOUser, SecretAccessKey: emulators.MinIOPassword}
	return c, "s3://plugin-test/%s?region=us-east-1&path_style=true&endpoint=" + srv.Endpoint
}

func (h *harness) NewBackend(ctx context.Context, t testing.TB) (sharestore.Backend, error) {
	_, url := h.minio(t)
	kp := cloudtest.FreshPrefix("plugin")
	cfg := plugin.Config{
		URL:     replace(url, kp),
		Create:  true,
		Secrets: map[string]string{"AWS_ACCESS_KEY_ID": emulators.MinIOUser, "AWS_SECRET_ACCESS_KEY": emulators.MinIOPassword},
	}
	b, err := plugin.Open(ctx, bin, cfg, plugin.HostOptions{})
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.prefixes[b] = kp + "/"
	h.mu.Unlock()
	return b, nil
}

func replace(format, kp string) string {
	for i := 0; i+1 < len(format); i++ {
		if format[i:i+2] == "%s" {
			return format[:i] + kp + format[i+2:]
		}
	}
	return format
}

func (h *harness) PlantObject(ctx context.Context, t testing.TB, b sharestore.Backend, key string, data []byte) error {
	c, _ := h.minio(t)
	h.mu.Lock()
	kp := h.prefixes[b]
	h.mu.Unlock()
	st, err := s3.NewStore(ctx, c)
	if err != nil {
		return err
	}
	return st.Put(ctx, kp+key, data)
}

// The S3 backend passes the conformance suite when served by the plugin
// binary in a subprocess.
func TestPluginConformanceS3(t *testing.T) {
	conformance.RunBackend(t, &harness{prefixes: map[sharestore.Backend]string{}})
}
