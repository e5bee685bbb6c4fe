package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/sharestore/sharestore"
)

// sampleSharesets is the size of the demonstration store (crawl --demo).
const sampleSharesets = 300

// seedSamples fills an empty store with deterministic sample shares: for
// each of sampleSharesets storage indexes, three immutable shares or two
// mutable ones, plus a few corrupt files, through the backend contract.
// A store that already holds any share is left alone. It returns the
// number of shares written.
func seedSamples(ctx context.Context, b sharestore.Backend) (int, error) {
	for _, p := range sharestore.Prefixes() {
		sis, err := b.SharesetsForPrefix(ctx, p)
		if err != nil {
			return 0, err
		}
		if len(sis) > 0 {
			return 0, nil
		}
	}
	n := 0
	for i := 0; i < sampleSharesets; i++ {
		var seed [8]byte
		binary.BigEndian.PutUint64(seed[:], uint64(i))
		sum := sha256.Sum256(append([]byte("sharestore sample "), seed[:]...))
		var si sharestore.StorageIndex
		copy(si[:], sum[:])
		ss := b.Shareset(si)
		data := bytes.Repeat(sum[:], 1+i%40)
		switch {
		case i%10 == 9:
			var we sharestore.WriteEnabler
			copy(we[:], sum[16:])
			tw := []sharestore.TestAndWrite{
				{Shnum: 0, Writes: []sharestore.DataVector{{Offset: 0, Data: data}}},
				{Shnum: 1, Writes: []sharestore.DataVector{{Offset: 0, Data: data[:len(data)/2]}}},
			}
			if ok, _, err := ss.TestAndReadAndWrite(ctx, we, tw, nil); err != nil || !ok {
				return n, fmt.Errorf("sample mutable share %s: %v", si, err)
			}
			n += 2
		case i%97 == 50:
			junk := []byte(fmt.Sprintf("not a share container (sample corrupt share %d)", i))
			if err := ss.PutRaw(ctx, 0, bytes.NewReader(junk), int64(len(junk))); err != nil {
				return n, err
			}
			n++
		default:
			for shnum := 0; shnum < 3; shnum++ {
				w, err := ss.WriteImmutable(ctx, shnum, int64(len(data)))
				if err != nil {
					return n, err
				}
				if err := w.Write(ctx, 0, data); err != nil {
					w.Abort(ctx)
					return n, err
				}
				if err := w.Close(ctx); err != nil {
					return n, err
				}
				n++
			}
		}
	}
	return n, nil
}
