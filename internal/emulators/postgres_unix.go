//go:build unix

package emulators

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// prepareDirs makes the cluster's data and socket directories under dir.
// PostgreSQL refuses to run as root, so as root they belong to the
// unprivileged user "postgres" (which Debian's packages create), or to
// "nobody", and the returned credential runs initdb and postgres as that
// user; otherwise it is nil and they run as this process's user.
func prepareDirs(dir, data, sock string) (runAs, error) {
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			if u, err = user.Lookup("nobody"); err != nil {
				return nil, fmt.Errorf("running as root, and neither user postgres nor nobody exists to run PostgreSQL as: %v", err)
			}
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("user %s has a non-numeric uid %q or gid %q", u.Username, u.Uid, u.Gid)
		}
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}
		// The user must reach the directories below the temporary one.
		if err := os.Chmod(dir, 0o755); err != nil {
			return nil, err
		}
	}
	for _, d := range []string{data, sock} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, err
		}
		if cred != nil {
			if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, err
			}
		}
	}
	return cred, nil
}

// runAs is the user a cluster's programs run as; nil is this process's.
type runAs = *syscall.Credential
