package sharestore

import (
	"testing"
	"time"
)

// SameShare tells a rewritten share from the one listed: any difference
// in identity, size or modification time, or in version when both have
// one.
func TestSameShare(t *testing.T) {
	var si StorageIndex
	si[0] = 1
	base := ShareInfo{SI: si, Shnum: 2, Size: 10, UsedSpace: 4096, ModTime: time.Unix(100, 5), Version: "v1"}
	same := base
	same.ModTime = time.Unix(0, base.ModTime.UnixNano()).In(time.FixedZone("x", 3600))
	same.UsedSpace = 8192 // what the share costs is not what it is
	noVersion := base
	noVersion.Version = ""
	cases := []struct {
		name string
		cur  func(ShareInfo) ShareInfo
		want bool
	}{
		{"identical", func(i ShareInfo) ShareInfo { return i }, true},
		{"same instant, other zone, other used space", func(ShareInfo) ShareInfo { return same }, true},
		{"current has no version", func(ShareInfo) ShareInfo { return noVersion }, true},
		{"other size", func(i ShareInfo) ShareInfo { i.Size++; return i }, false},
		{"other modtime", func(i ShareInfo) ShareInfo { i.ModTime = i.ModTime.Add(time.Nanosecond); return i }, false},
		{"other version", func(i ShareInfo) ShareInfo { i.Version = "v2"; return i }, false},
		{"other shnum", func(i ShareInfo) ShareInfo { i.Shnum++; return i }, false},
		{"other SI", func(i ShareInfo) ShareInfo { i.SI[1] = 9; return i }, false},
	}
	for _, c := range cases {
		if got := base.SameShare(c.cur(base)); got != c.want {
			t.Errorf("%s: SameShare = %v, want %v", c.name, got, c.want)
		}
	}
	if (ShareInfo{SI: si, Shnum: 2, Size: 10}).SameShare(base) {
		t.Error("a judgement with no modification time matched a listed share")
	}
}
