package units

import (
	"math"
	"testing"
)

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{
		0:                     "0 B",
		1:                     "1 B",
		1023:                  "1023 B",
		1024:                  "1.0 KiB",
		1536:                  "1.5 KiB",
		1048524:               "1023.9 KiB",
		1048575:               "1.0 MiB", // 1023.999 KiB rounds up: the next unit
		1572864:               "1.5 MiB",
		5 << 30:               "5.0 GiB",
		3<<40 + 1<<39:         "3.5 TiB",
		math.MaxInt64:         "8.0 EiB",
		-1536:                 "-1.5 KiB",
		-5:                    "-5 B",
		math.MinInt64:         "-8.0 EiB",
		860*1024 + 3*1024/10:  "860.3 KiB",
		999*1024*1024 + 1<<19: "999.5 MiB",
	} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}
