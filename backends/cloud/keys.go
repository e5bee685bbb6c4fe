package cloud

import (
	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/backends/driver"
)

// Key layout, relative to the backend's key prefix, is the shared
// layer's (package driver):
//
//	shares/PP/SI/N     chunk 0 of share N of storage index SI
//	shares/PP/SI/N.i   chunk i (i ≥ 1)
//
// with N and i in canonical decimal (no sign, no leading zeros).

func prefixKey(p sharestore.Prefix) string { return driver.PrefixPath(p) }

func siKey(si sharestore.StorageIndex) string { return driver.SIPath(si) }

// ChunkKey returns the key of chunk i of share (si, shnum), relative to
// the key prefix: shares/PP/SI/N for chunk 0 and shares/PP/SI/N.i after.
func ChunkKey(si sharestore.StorageIndex, shnum int, i int64) string {
	return driver.SIPath(si) + driver.ChunkName(shnum, i)
}

// chunkRef is a parsed share-object key.
type chunkRef = driver.ChunkRef

// parseChunkKey parses a key relative to the key prefix; anything but a
// share's chunk (driver.ParseChunkPath) is a foreign object and is
// ignored.
func parseChunkKey(rel string) (chunkRef, bool) { return driver.ParseChunkPath(rel) }
