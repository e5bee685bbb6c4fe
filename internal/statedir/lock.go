package statedir

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sharestore/sharestore"
)

// LockFile is the name of the lock file in a state directory.
const LockFile = "lock"

// Lock is a held state directory lock. Release it with Unlock; the
// operating system releases it when the process dies.
type Lock struct {
	f    *os.File
	path string
}

// Acquire locks the state directory dir for this process, recording the
// PID, the command and the time in the lock file. If another process
// holds it, Acquire fails at once with ErrConflict and a message that
// names the holder's PID and command. dir must exist.
func Acquire(dir, command string) (*Lock, error) {
	path := filepath.Join(dir, LockFile)
	if st, err := os.Lstat(path); err == nil && !st.Mode().IsRegular() {
		return nil, sharestore.Errorf(sharestore.ErrInvalidArgument, "state directory lock %s is not a regular file (%s)", path, st.Mode().Type())
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, sharestore.Wrap(sharestore.CodeOf(classify(err)), err, "state directory lock "+path)
	}
	if err := tryLock(f); err != nil {
		holder := readHolder(path)
		f.Close()
		if err == errLocked {
			return nil, sharestore.Errorf(sharestore.ErrConflict, "state directory %s is in use by %s; stop that process or use another --state-dir", dir, holder)
		}
		return nil, sharestore.Wrap(sharestore.ErrInternal, err, "lock state directory "+dir)
	}
	info := fmt.Sprintf("pid %d\ncommand %s\nsince %s\n", os.Getpid(), oneLine(command), time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(info), 0)
		_ = f.Sync()
	}
	return &Lock{f: f, path: path}, nil
}

// Unlock releases the lock. The lock file stays, so that the next holder
// overwrites it; its contents are only a description.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// readHolder describes the process recorded in the lock file at path.
func readHolder(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return "another process (its lock file " + path + " says nothing more)"
	}
	var pid, cmd, since string
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, " ")
		switch k {
		case "pid":
			pid = v
		case "command":
			cmd = v
		case "since":
			since = v
		}
	}
	s := "PID " + pid
	if cmd != "" {
		s += " (" + cmd + ")"
	}
	if since != "" {
		s += " since " + since
	}
	return s
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func classify(err error) error {
	if os.IsPermission(err) {
		return sharestore.Errorf(sharestore.ErrPermissionDenied, "%v", err)
	}
	if os.IsNotExist(err) {
		return sharestore.Errorf(sharestore.ErrNotFound, "%v", err)
	}
	return sharestore.Errorf(sharestore.ErrInternal, "%v", err)
}
