//go:build unix

package crawler

import (
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
)

// A FIFO (or anything but a regular file) as the state file is refused
// with an error naming it, and never opened: opening a FIFO for reading
// blocks until a writer comes.
func TestStateFileFIFORefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bucket_counter.state.json")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
	clock := NewFakeClock(t0)
	var err error
	within(t, 30*time.Second, "New on a FIFO state file", func() {
		_, err = New(NewBuckets(newDisk(t)), path, clock, Config{Logger: quiet}, Hooks{})
	})
	if !errors.Is(err, sharestore.ErrInvalidArgument) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("New: %v", err)
	}
	within(t, 30*time.Second, "ReadState on a FIFO", func() { _, _, err = ReadState(path, BucketsName) })
	if !errors.Is(err, sharestore.ErrInvalidArgument) {
		t.Fatalf("ReadState: %v", err)
	}
}
