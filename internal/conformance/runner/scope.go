package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// Scope is a conformance.TB that lives outside go test: the calls a test
// (or, in a plugin, a harness) makes on it are run by Do, each on a
// goroutine of its own, so that Fatal and Skip can end the call the way
// they end a test in go test. A Scope collects what was logged, whether
// it failed or skipped, and the cleanups to run when it is closed.
//
// A Scope is safe for concurrent use; Fatal, FailNow and Skip must be
// called from a goroutine Do started.
type Scope struct {
	name string
	root string

	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	failed   bool
	skipped  bool
	logs     []string
	skip     string
	cleanups []func()
	tmp      int
	closed   bool
}

// NewScope returns a Scope called name whose Context is a child of ctx
// and whose TempDir directories are made under root (os.TempDir() when
// root is empty). Close must be called to run its cleanups.
func NewScope(ctx context.Context, name, root string) *Scope {
	c, cancel := context.WithCancel(ctx)
	return &Scope{name: name, root: root, ctx: c, cancel: cancel}
}

// Do runs f on a new goroutine with s as its TB and waits for it. It
// returns when f returns, calls Fatal, FailNow, Skip or SkipNow, or
// panics; a panic fails s with its value and stack.
func (s *Scope) Do(f func(tb *Scope)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if v := recover(); v != nil {
				s.Errorf("panic: %v\n%s", v, debug.Stack())
			}
		}()
		f(s)
	}()
	<-done
}

// Close cancels Context, then runs the cleanups, last added first, each
// through Do, and then removes the TempDir directories. Calling it
// again does nothing.
func (s *Scope) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	for {
		s.mu.Lock()
		n := len(s.cleanups)
		if n == 0 {
			s.mu.Unlock()
			return
		}
		f := s.cleanups[n-1]
		s.cleanups = s.cleanups[:n-1]
		s.mu.Unlock()
		s.Do(func(*Scope) { f() })
	}
}

// Output returns everything logged through s, one entry a line, in order.
func (s *Scope) Output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.logs, "\n")
}

// SkipReason returns what Skip or Skipf was given.
func (s *Scope) SkipReason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.skip
}

// Name returns the name s was made with.
func (s *Scope) Name() string { return s.name }

// Helper does nothing: messages carry no file and line.
func (s *Scope) Helper() {}

// Context returns a context that is cancelled when Close starts.
func (s *Scope) Context() context.Context { return s.ctx }

// Cleanup registers f to run when s is closed.
func (s *Scope) Cleanup(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cleanups = append(s.cleanups, f)
}

// TempDir returns a new directory, removed when s is closed; it fails s
// if none can be made.
func (s *Scope) TempDir() string {
	s.mu.Lock()
	s.tmp++
	n := s.tmp
	s.mu.Unlock()
	pattern := fmt.Sprintf("%s-%03d-*", safeName(s.name), n)
	dir, err := os.MkdirTemp(s.root, pattern)
	if err != nil {
		s.Fatalf("TempDir: %v", err)
	}
	s.Cleanup(func() {
		if err := RemoveAll(dir); err != nil {
			s.Errorf("TempDir: %v", err)
		}
	})
	return dir
}

// RemoveAll removes dir and everything under it, first making its
// directories writable, since a test may leave read-only ones behind. A
// directory still busy is retried briefly.
func RemoveAll(dir string) error {
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	var err error
	for i := 0; i < 5; i++ {
		if err = os.RemoveAll(dir); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// safeName is name made fit for a file name.
func safeName(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) > 40 {
		b = b[len(b)-40:]
	}
	return string(b)
}

func (s *Scope) log(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logs = append(s.logs, strings.TrimSuffix(msg, "\n"))
}

// Log records its arguments, formatted as fmt.Sprintln does.
func (s *Scope) Log(args ...any) { s.log(fmt.Sprintln(args...)) }

// Logf records its arguments, formatted as fmt.Sprintf does.
func (s *Scope) Logf(format string, args ...any) { s.log(fmt.Sprintf(format, args...)) }

// Fail marks s as failed and goes on.
func (s *Scope) Fail() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failed = true
}

// Failed reports whether s has failed.
func (s *Scope) Failed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

// Skipped reports whether s was skipped.
func (s *Scope) Skipped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.skipped
}

// Error is Log followed by Fail.
func (s *Scope) Error(args ...any) { s.Log(args...); s.Fail() }

// Errorf is Logf followed by Fail.
func (s *Scope) Errorf(format string, args ...any) { s.Logf(format, args...); s.Fail() }

// FailNow marks s as failed and ends the calling goroutine.
func (s *Scope) FailNow() { s.Fail(); runtime.Goexit() }

// Fatal is Log followed by FailNow.
func (s *Scope) Fatal(args ...any) { s.Log(args...); s.FailNow() }

// Fatalf is Logf followed by FailNow.
func (s *Scope) Fatalf(format string, args ...any) { s.Logf(format, args...); s.FailNow() }

// SkipNow marks s as skipped and ends the calling goroutine.
func (s *Scope) SkipNow() {
	s.mu.Lock()
	s.skipped = true
	s.mu.Unlock()
	runtime.Goexit()
}

// Skip records its arguments as the reason and calls SkipNow.
func (s *Scope) Skip(args ...any) { s.skipWith(strings.TrimSuffix(fmt.Sprintln(args...), "\n")) }

// Skipf records its arguments as the reason and calls SkipNow.
func (s *Scope) Skipf(format string, args ...any) { s.skipWith(fmt.Sprintf(format, args...)) }

func (s *Scope) skipWith(reason string) {
	s.mu.Lock()
	s.skip = reason
	s.mu.Unlock()
	s.SkipNow()
}
