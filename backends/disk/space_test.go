package disk

import (
	"math"
	"testing"
)

func TestCapBytes(t *testing.T) {
	for _, c := range []struct {
		blocks, size uint64
		want         int64
	}{
		{0, 4096, 0},
		{10, 4096, 40960},
		{5, 0, 0},
		{math.MaxInt64 / 4096, 4096, math.MaxInt64 / 4096 * 4096},
		{math.MaxInt64/4096 + 1, 4096, math.MaxInt64},
		{math.MaxUint64, 1, math.MaxInt64},
		{1 << 40, 1 << 30, math.MaxInt64},
	} {
		if got := capBytes(c.blocks, c.size); got != c.want {
			t.Errorf("capBytes(%d, %d) = %d, want %d", c.blocks, c.size, got, c.want)
		}
	}
}
