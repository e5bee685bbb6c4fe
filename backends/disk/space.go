package disk

import "math"

// capBytes returns blocks×size, capped at MaxInt64 instead of wrapping.
func capBytes(blocks, size uint64) int64 {
	if size != 0 && blocks > math.MaxInt64/size {
		return math.MaxInt64
	}
	return int64(blocks * size)
}
