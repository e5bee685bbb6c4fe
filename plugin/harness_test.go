//go:build unix

package plugin_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/conformance"
	"github.com/sharestore/sharestore/internal/conformance/report"
	"github.com/sharestore/sharestore/internal/conformance/runner"
	"github.com/sharestore/sharestore/plugin"
)

const (
	// harnessEnv makes the test binary a plugin serving a disk backend
	// with a harness that behaves as the value says: "disk", "skip" or
	// "fail".
	harnessEnv = "SHARESTORE_PLUGIN_TEST_HARNESS"
	// harnessHostEnv makes the test binary a host that opens one scratch
	// backend named by the value through the disk plugin's harness.
	harnessHostEnv = "SHARESTORE_PLUGIN_TEST_HARNESS_HOST"
)

type testHarness struct {
	conformance.DiskHarness
	mode string
}

func (h testHarness) NewBackend(ctx context.Context, t conformance.TB) (sharestore.Backend, error) {
	switch h.mode {
	case "skip":
		t.Skip("this harness has no store today")
	case "fail":
		t.Fatalf("harness broke: %s", "no disk")
	}
	return h.DiskHarness.NewBackend(ctx, t)
}

func serveHarness() {
	plugin.Serve(func(_ context.Context, cfg plugin.Config) (sharestore.Backend, error) {
		return disk.Open(strings.TrimPrefix(cfg.URL, "disk:"), disk.Options{Create: cfg.Create})
	}, plugin.WithHarness(testHarness{mode: os.Getenv(harnessEnv)}))
	os.Exit(0)
}

// runHarnessHost opens one scratch backend through the disk plugin's
// harness, prints READY and waits to be killed.
func runHarnessHost() {
	bin, name, _ := strings.Cut(os.Getenv(harnessHostEnv), " ")
	h, err := plugin.OpenHarness(context.Background(), bin, plugin.Config{}, plugin.HostOptions{})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	s := runner.NewScope(context.Background(), name, "")
	s.Do(func(tb *runner.Scope) {
		if _, err := h.NewBackend(tb.Context(), tb); err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
	})
	fmt.Println("READY")
	select {}
}

func openDiskHarness(t *testing.T) *plugin.Harness {
	t.Helper()
	h, err := plugin.OpenHarness(context.Background(), diskPlugin, plugin.Config{}, plugin.HostOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// Through the harness service, no test skips for want of planting.
func TestHarnessPlantsInThePlugin(t *testing.T) {
	rs := runner.Run(context.Background(), conformance.BackendTests(openDiskHarness(t), conformance.Options{Short: true}), runner.Config{Parallel: 2})
	planting := 0
	for _, r := range rs {
		switch {
		case r.Status == report.Failed:
			t.Errorf("%s: %s", r.Name, r.Message)
		case r.Status == report.Skipped && strings.Contains(r.Message, "plant"):
			planting++
		}
	}
	if planting != 0 {
		t.Errorf("%d tests skipped for want of planting", planting)
	}
	if len(rs) < 150 {
		t.Errorf("%d results", len(rs))
	}
}

// A plugin whose main passes no harness is ErrUnimplemented, naming the
// binary.
func TestOpenHarnessWithoutOne(t *testing.T) {
	t.Setenv(recordEnv, filepath.Join(t.TempDir(), "rec"))
	_, err := plugin.OpenHarness(context.Background(), os.Args[0], plugin.Config{}, plugin.HostOptions{})
	if !errors.Is(err, sharestore.ErrUnimplemented) || !strings.Contains(err.Error(), os.Args[0]) || !strings.Contains(err.Error(), "plugin.WithHarness") {
		t.Fatalf("OpenHarness: %v; want ErrUnimplemented naming %s", err, os.Args[0])
	}
}

// A harness that skips in the plugin skips the host's test with its
// reason; one that fails is an error with its message.
func TestHarnessSkipAndFailCrossTheBoundary(t *testing.T) {
	for _, c := range []struct{ mode, want string }{{"skip", "this harness has no store today"}, {"fail", "harness broke: no disk"}} {
		t.Setenv(harnessEnv, c.mode)
		h, err := plugin.OpenHarness(context.Background(), os.Args[0], plugin.Config{}, plugin.HostOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s := runner.NewScope(context.Background(), "x", t.TempDir())
		var nerr error
		s.Do(func(tb *runner.Scope) { _, nerr = h.NewBackend(tb.Context(), tb) })
		s.Close()
		switch c.mode {
		case "skip":
			if !s.Skipped() || s.SkipReason() != c.want {
				t.Errorf("skip: skipped=%v reason %q, err %v", s.Skipped(), s.SkipReason(), nerr)
			}
		case "fail":
			if nerr == nil || !strings.Contains(nerr.Error(), c.want) {
				t.Errorf("fail: %v, want an error with %q", nerr, c.want)
			}
		}
	}
}

// scratchDirs returns the temporary directories a harness made for the
// scratch backend called name.
func scratchDirs(name string) []string {
	m, _ := filepath.Glob(filepath.Join(os.TempDir(), name+"-*"))
	return m
}

// A scratch backend's data goes when its host is killed: the plugin's
// watchdog drops it before it exits. And a closed one leaves nothing.
func TestScratchGoneAfterHostKilled(t *testing.T) {
	name := fmt.Sprintf("killtest%d", os.Getpid())
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), harnessHostEnv+"="+diskPlugin+" "+name)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "READY" {
		cmd.Process.Kill()
		t.Fatalf("host said %q", line)
	}
	if len(scratchDirs(name)) == 0 {
		cmd.Process.Kill()
		t.Fatalf("no scratch directory %s-* in %s while the host runs", name, os.TempDir())
	}
	cmd.Process.Kill()
	cmd.Wait()
	deadline := time.Now().Add(20 * time.Second)
	for len(scratchDirs(name)) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("scratch directories left after the host was killed: %v", scratchDirs(name))
		}
		time.Sleep(50 * time.Millisecond)
	}

	h := openDiskHarness(t)
	s := runner.NewScope(context.Background(), name+"b", t.TempDir())
	s.Do(func(tb *runner.Scope) {
		b, err := h.NewBackend(tb.Context(), tb)
		if err != nil {
			tb.Fatal(err)
		}
		if len(scratchDirs(name+"b")) == 0 {
			tb.Fatal("no scratch directory while the backend is open")
		}
		b.Close()
	})
	s.Close()
	if s.Failed() || len(scratchDirs(name+"b")) != 0 {
		t.Errorf("after Close: %s; left %v", s.Output(), scratchDirs(name+"b"))
	}
}
