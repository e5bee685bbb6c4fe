package disk

import "golang.org/x/sys/windows"

// availableBytes returns the bytes of the volume holding path that the
// calling user may still write (quotas included), capped at MaxInt64.
func availableBytes(path string) (int64, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return 0, err
	}
	var free, total, totalFree uint64
	if err := windows.GetDiskFreeSpaceEx(p, &free, &total, &totalFree); err != nil {
		return 0, err
	}
	return capBytes(free, 1), nil
}
