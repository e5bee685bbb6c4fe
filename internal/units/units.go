// Package units formats quantities for the text output of the sharestore
// command, so that every command writes them the same way. JSON output
// never uses it: JSON carries raw numbers (bytes as integers, durations
// as seconds).
package units

import (
	"fmt"
	"math"
)

// iec are the binary prefixes, each 1024 times the one before.
var iec = []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}

// Bytes renders a byte count in IEC units with one decimal: "512 B",
// "1.0 KiB", "1.5 MiB", "2.3 GiB". Counts below 1024 are whole bytes.
// The unit is the largest that keeps the rounded value below 1024, so
// 1048575 bytes is "1.0 MiB", never "1024.0 KiB". Negative counts (an
// estimate gone below zero) keep their sign.
func Bytes(n int64) string {
	sign := ""
	u := uint64(n)
	if n < 0 {
		sign, u = "-", uint64(-(n+1))+1 // no overflow at math.MinInt64
	}
	if u < 1024 {
		return fmt.Sprintf("%s%d B", sign, u)
	}
	v := float64(u)
	for i, unit := range iec {
		v /= 1024
		if math.Round(v*10)/10 < 1024 || i == len(iec)-1 {
			return fmt.Sprintf("%s%.1f %s", sign, v, unit)
		}
	}
	panic("unreachable")
}
