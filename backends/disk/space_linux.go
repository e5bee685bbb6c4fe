package disk

import "golang.org/x/sys/unix"

// availableBytes returns the bytes of the file system holding path that
// an unprivileged user may still write, capped at MaxInt64.
func availableBytes(path string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, err
	}
	return capBytes(uint64(st.Bavail), uint64(st.Frsize)), nil
}
