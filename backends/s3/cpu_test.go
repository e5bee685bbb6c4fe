package s3_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cpuSample is the CPU time, in seconds, that the processes of interest
// to a benchmark have used so far: MinIO, PostgreSQL (all its backends)
// and this test process. On a system without /proc it is all zeros.
type cpuSample struct{ minio, postgres, self float64 }

// sampleCPU reads utime+stime of every process from /proc. For
// PostgreSQL it adds the CPU of reaped children (cutime+cstime), so a
// backend process that exits between two samples still counts: the
// postmaster inherits its time when it reaps it.
func sampleCPU() cpuSample {
	var s cpuSample
	self := os.Getpid()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		line := string(b)
		i, j := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
		if i < 0 || j < 0 || j+2 > len(line) {
			continue
		}
		f := strings.Fields(line[j+2:])
		if len(f) < 15 {
			continue
		}
		ticks := func(k int) float64 {
			v, _ := strconv.ParseFloat(f[k], 64)
			return v / 100 // USER_HZ is 100 on Linux
		}
		secs := ticks(11) + ticks(12)
		pid, _ := strconv.Atoi(filepath.Base(d))
		switch name := line[i+1 : j]; {
		case pid == self:
			s.self += secs
		case name == "minio":
			s.minio += secs
		case name == "postgres":
			s.postgres += secs + ticks(13) + ticks(14)
		}
	}
	return s
}

// sub is the CPU used between b and s.
func (s cpuSample) sub(b cpuSample) cpuSample {
	return cpuSample{s.minio - b.minio, s.postgres - b.postgres, s.self - b.self}
}

// total is the sum over the processes.
func (s cpuSample) total() float64 { return s.minio + s.postgres + s.self }

// String reports the sample as "minio=…s postgres=…s test=…s total=…s".
func (s cpuSample) String() string {
	return fmt.Sprintf("minio=%.2fs postgres=%.2fs test=%.2fs total=%.2fs", s.minio, s.postgres, s.self, s.total())
}
