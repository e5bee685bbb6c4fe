// Package benchstore builds the disk stores the crawl and plugin
// benchmarks share: n immutable shares, two per storage index, cached
// under the temporary directory between runs.
package benchstore

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/share"
)

// Shares is the benchmark store size: 100k by default, or the value of
// SHARESTORE_BENCH_SHARES (e.g. 1000000).
func Shares() int {
	if v, err := strconv.Atoi(os.Getenv("SHARESTORE_BENCH_SHARES")); err == nil && v > 0 {
		return v
	}
	return 100_000
}

// Disk returns a Tahoe storage directory holding n immutable shares of
// 212 bytes, two per storage index, written straight to disk without
// fsync. It is kept under the temporary directory, keyed by n, so later
// runs reuse it; a half-built store is rebuilt.
func Disk(tb testing.TB, n int) string {
	tb.Helper()
	root := filepath.Join(os.TempDir(), fmt.Sprintf("sharestore-bench-store-%d", n))
	done := filepath.Join(root, ".complete")
	if _, err := os.Stat(done); err == nil {
		return root
	}
	os.RemoveAll(root)
	data := make([]byte, 200)
	raw := append(share.NewImmutableHeader(1, int64(len(data))), data...)
	for i := 0; i < n/2; i++ {
		var si sharestore.StorageIndex
		binary.BigEndian.PutUint64(si[:], uint64(i)*0x9e3779b97f4a7c15)
		binary.BigEndian.PutUint64(si[8:], uint64(i))
		s := si.String()
		dir := filepath.Join(root, "shares", s[:2], s)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		for shnum := 0; shnum < 2; shnum++ {
			if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(shnum)), raw, 0o644); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		tb.Fatal(err)
	}
	return root
}
