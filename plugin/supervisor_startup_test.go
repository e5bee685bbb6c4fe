//go:build unix

package plugin_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/plugin"
)

// grandchildScript returns a plugin script that starts a background
// "sleep 60" (a grandchild of the host), writes its pid to a file, then
// runs then. It returns the script and the pid file.
func grandchildScript(t *testing.T, redirect, then string) (string, string) {
	t.Helper()
	pidFile := filepath.Join(t.TempDir(), "grandchild.pid")
	return script(t, "sleep 60 "+redirect+" &\necho $! > "+pidFile+"\n"+then), pidFile
}

// readPID waits (a bounded time) for the script to write its pid file.
func readPID(t *testing.T, pidFile string) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(pidFile)
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil && pid > 0 {
			t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("the plugin script wrote no pid to %s: %v", pidFile, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// openBounded runs plugin.Open and fails the test if it has not returned
// within bound (on the code before the fix, it hung until the grandchild
// ended).
func openBounded(t *testing.T, ctx context.Context, path string, opts plugin.HostOptions, bound time.Duration) (*plugin.Backend, error) {
	t.Helper()
	type result struct {
		b   *plugin.Backend
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := plugin.Open(ctx, path, plugin.Config{URL: "disk:" + t.TempDir(), Create: true}, opts)
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		if r.b != nil {
			t.Cleanup(func() { r.b.Close() })
		}
		return r.b, r.err
	case <-time.After(bound):
		t.Fatalf("plugin.Open of %s had not returned %v later", path, bound)
		return nil, nil
	}
}

// TestStartupTimeoutKillsProcessGroup starts a wrapper script that never
// speaks the handshake and whose child holds its stdout: Open returns
// soon after the start-up timeout, naming the binary and the handshake,
// and the child is gone.
func TestStartupTimeoutKillsProcessGroup(t *testing.T) {
	bin, pidFile := grandchildScript(t, "", "sleep 60")
	_, err := openBounded(t, context.Background(), bin, plugin.HostOptions{StartTimeout: 300 * time.Millisecond, Stderr: os.Stderr}, 15*time.Second)
	if err == nil || !strings.Contains(err.Error(), bin) || !strings.Contains(err.Error(), "handshake") || !strings.Contains(err.Error(), "300ms") {
		t.Fatalf("Open of a plugin that never answers: %v; want an error naming %s, the handshake and the timeout", err, bin)
	}
	if !errors.Is(err, sharestore.ErrUnavailable) {
		t.Errorf("code %v, want UNAVAILABLE", sharestore.CodeOf(err))
	}
	waitGone(t, readPID(t, pidFile), 10*time.Second)
}

// TestStartupContextKillsProcessGroup is the same with a context that
// ends before the (long) start-up timeout.
func TestStartupContextKillsProcessGroup(t *testing.T) {
	bin, pidFile := grandchildScript(t, "", "exec sleep 60")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		readPID(t, pidFile)
		cancel()
	}()
	_, err := openBounded(t, ctx, bin, plugin.HostOptions{StartTimeout: time.Minute, Stderr: os.Stderr}, 15*time.Second)
	if !errors.Is(err, sharestore.ErrCanceled) || !strings.Contains(err.Error(), bin) {
		t.Fatalf("Open with a canceled context: %v (code %v); want CANCELED naming %s", err, sharestore.CodeOf(err), bin)
	}
	waitGone(t, readPID(t, pidFile), 10*time.Second)
}

// TestCrashAtStartupLeavesNoProcess starts a script that leaves a child
// behind (not holding its stdout) and exits: Open fails at once, and the
// child is gone.
func TestCrashAtStartupLeavesNoProcess(t *testing.T) {
	bin, pidFile := grandchildScript(t, ">/dev/null 2>&1", "echo 'cannot start' >&2; exit 1")
	_, err := openBounded(t, context.Background(), bin, plugin.HostOptions{StartTimeout: time.Minute, Stderr: os.Stderr}, 15*time.Second)
	if err == nil || !strings.Contains(err.Error(), "cannot start") {
		t.Fatalf("Open of a crashing plugin: %v", err)
	}
	waitGone(t, readPID(t, pidFile), 10*time.Second)
}

// TestKilledPluginLeavesNoProcess wraps the disk plugin in a script that
// starts a child first: when the plugin is SIGKILLed, its child goes with
// it; the supervisor's restart works, and Close takes the new child too.
func TestKilledPluginLeavesNoProcess(t *testing.T) {
	bin, pidFile := grandchildScript(t, ">/dev/null 2>&1", "exec "+diskPlugin)
	b, err := openBounded(t, context.Background(), bin, plugin.HostOptions{Stderr: os.Stderr}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	child := readPID(t, pidFile)
	os.Remove(pidFile)
	if err := killPID(b.PID()); err != nil {
		t.Fatal(err)
	}
	waitGone(t, child, 10*time.Second)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err = b.AvailableSpace(ctx); err == nil {
			break
		}
	}
	if err != nil || b.Restarts() != 1 {
		t.Fatalf("after the kill: %v, %d restarts", err, b.Restarts())
	}
	child = readPID(t, pidFile)
	if !alive(child) {
		t.Fatalf("the restarted plugin's child %d is not running", child)
	}
	b.Close()
	waitGone(t, child, 10*time.Second)
}
