//go:build unix

package leasedb

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
)

// A FIFO as the lease database is refused with an error naming it, and
// never opened.
func TestOpenFIFORefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leasedb.sqlite")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		db, err := Open(context.Background(), path, Options{})
		if err == nil {
			db.Close()
		}
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Open on a FIFO hangs")
	}
	wantCode(t, err, sharestore.ErrInvalidArgument)
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("error %q does not name the file", err)
	}
}
