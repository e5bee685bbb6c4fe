//go:build unix

package plugin_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/conformance"
	"github.com/sharestore/sharestore/plugin"
)

const hostEnv = "SHARESTORE_PLUGIN_TEST_HOST"

// runHost is the main of a tiny host: the test binary re-executed with
// hostEnv set to "PLUGIN STOREDIR". It opens the plugin, prints the
// plugin's pid and waits to be killed.
func runHost() {
	bin, dir, _ := strings.Cut(os.Getenv(hostEnv), " ")
	b, err := plugin.Open(context.Background(), bin, plugin.Config{URL: "disk:" + dir, Create: true}, plugin.HostOptions{})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	fmt.Println(b.PID())
	select {}
}

// quiet discards the crawlers' logs.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// diskPlugin is the sharestore-backend-disk binary, built once per test
// binary by TestMain.
var diskPlugin string

func TestMain(m *testing.M) {
	if os.Getenv(hostEnv) != "" {
		runHost() // re-executed as a tiny host; never returns
	}
	if os.Getenv(recordEnv) != "" {
		serveRecorded() // re-executed as a recording plugin; never returns
	}
	if os.Getenv(harnessEnv) != "" {
		serveHarness() // re-executed as a plugin with a test harness; never returns
	}
	if os.Getenv(harnessHostEnv) != "" {
		runHarnessHost() // re-executed as a host of a scratch backend; never returns
	}
	dir, err := os.MkdirTemp("", "sharestore-plugin-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	diskPlugin = filepath.Join(dir, "sharestore-backend-disk")
	cmd := exec.Command("go", "build", "-o", diskPlugin, "github.com/sharestore/sharestore/cmd/sharestore-backend-disk")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the disk plugin:", err)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// openDisk opens the disk plugin on a fresh store in t's temp dir.
func openDisk(t testing.TB, opts plugin.HostOptions) (*plugin.Backend, string) {
	t.Helper()
	dir := t.TempDir()
	b, err := plugin.Open(context.Background(), diskPlugin, plugin.Config{URL: "disk:" + dir, Create: true}, opts)
	if err != nil {
		t.Fatalf("plugin.Open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b, dir
}

// diskHarness runs the conformance suites through the disk plugin. It
// plants raw objects straight into the store directory the plugin serves.
type diskHarness struct {
	readOnly bool

	mu    sync.Mutex
	roots map[sharestore.Backend]string
}

func newDiskHarness() *diskHarness { return &diskHarness{roots: map[sharestore.Backend]string{}} }

func (h *diskHarness) NewBackend(ctx context.Context, t conformance.TB) (sharestore.Backend, error) {
	dir := t.TempDir()
	cfg := plugin.Config{URL: "disk:" + dir, Create: true}
	if h.readOnly {
		if err := os.Mkdir(filepath.Join(dir, "shares"), 0o755); err != nil {
			return nil, err
		}
		cfg = plugin.Config{URL: "disk:" + dir, Options: map[string]string{"read_only": "true"}}
	}
	b, err := plugin.Open(ctx, diskPlugin, cfg, plugin.HostOptions{})
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.roots[b] = dir
	h.mu.Unlock()
	return b, nil
}

func (h *diskHarness) PlantObject(ctx context.Context, t conformance.TB, b sharestore.Backend, key string, data []byte) error {
	h.mu.Lock()
	root, ok := h.roots[b]
	h.mu.Unlock()
	if !ok {
		return sharestore.ErrUnimplemented
	}
	p := filepath.Join(root, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}
