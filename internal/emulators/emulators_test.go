package emulators

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Run(m)) }

// Each emulator starts on loopback and answers its readiness probe.
func TestStartEach(t *testing.T) {
	for _, k := range []Kind{MinIO, FakeGCS, Azurite} {
		t.Run(string(k), func(t *testing.T) {
			s := Get(t, k)
			if httpStatus(s.Endpoint) == 0 {
				t.Fatalf("%s at %s does not answer HTTP", k, s.Endpoint)
			}
			if s2 := Get(t, k); s2 != s {
				t.Fatalf("second Get started another %s", k)
			}
		})
	}
}
