package plugin

import (
	"errors"
	"testing"
	"time"

	"github.com/sharestore/sharestore"
)

func TestPackedRoundTrip(t *testing.T) {
	var in []sharestore.ShareInfo
	var buf, sis []byte
	for i := 0; i < 5; i++ {
		var si sharestore.StorageIndex
		for k := range si {
			si[k] = byte(i*16 + k)
		}
		info := sharestore.ShareInfo{SI: si, Shnum: 250 + i, Size: 1<<40 + int64(i), UsedSpace: 4096 * int64(i), ModTime: time.Unix(1700000000, int64(i))}
		in = append(in, info)
		buf = appendPackedShare(buf, info)
		sis = append(sis, si[:]...)
	}
	out, err := unpackShares(nil, buf)
	if err != nil || len(out) != len(in) {
		t.Fatalf("unpackShares: %d entries, %v", len(out), err)
	}
	for i := range in {
		if out[i].SI != in[i].SI || out[i].Shnum != in[i].Shnum || out[i].Size != in[i].Size || out[i].UsedSpace != in[i].UsedSpace || !out[i].ModTime.Equal(in[i].ModTime) {
			t.Errorf("entry %d: %+v, want %+v", i, out[i], in[i])
		}
	}
	got, err := unpackSharesets(nil, sis)
	if err != nil || len(got) != 5 || got[3] != in[3].SI {
		t.Fatalf("unpackSharesets: %v, %v", got, err)
	}
}

// A plugin that sends a torn record is broken: ErrInternal, naming the
// sizes.
func TestPackedTorn(t *testing.T) {
	if _, err := unpackShares(nil, make([]byte, packedShareSize+1)); !errors.Is(err, sharestore.ErrInternal) {
		t.Fatalf("torn shares: %v", err)
	}
	if _, err := unpackSharesets(nil, make([]byte, 15)); !errors.Is(err, sharestore.ErrInternal) {
		t.Fatalf("torn storage indexes: %v", err)
	}
}
