package plugin

import (
	"testing"

	"github.com/sharestore/sharestore"
)

// TestRequestsCrossTheBoundaryWhole checks that every count of every
// result class survives the conversion to the wire form and back.
func TestRequestsCrossTheBoundaryWhole(t *testing.T) {
	want := sharestore.StoreRequests{
		sharestore.StoreList:   {OK: 20, Canceled: 1, Retries: 2},
		sharestore.StoreGet:    {OK: 3, NotFound: 4, Throttled: 5, Failed: 6},
		sharestore.StoreDelete: {Canceled: 7},
	}
	got := requestsFromPB(requestsToPB(want))
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for op, c := range want {
		if got[op] != c {
			t.Errorf("%s: got %+v, want %+v", op, got[op], c)
		}
	}
}
