package disk_test

import (
	"testing"

	"github.com/sharestore/sharestore/backends/disk"
	"github.com/sharestore/sharestore/conformance"
)

// harness runs the conformance suite on a disk backend in a fresh
// temporary storage directory.
type harness = conformance.DiskHarness

func TestConformance(t *testing.T) {
	conformance.RunBackend(t, harness{})
}

// TestConformanceContainerV2 runs the suite with new containers written
// in version 2.
func TestConformanceContainerV2(t *testing.T) {
	conformance.RunBackend(t, harness{Options: disk.Options{ContainerVersion: 2}})
}

// TestConformanceReadOnly runs the suite on a read-only backend: every
// test that writes is skipped and every mutation must be refused.
func TestConformanceReadOnly(t *testing.T) {
	conformance.RunBackend(t, harness{Options: disk.Options{ReadOnly: true}})
}

// TestCrawlers runs the crawler scenarios; the disk backend's results are
// the golden files every other backend must match (regenerate them with
// SHARESTORE_UPDATE_GOLDEN=1 go test -run TestCrawlers ./backends/disk/).
func TestCrawlers(t *testing.T) {
	conformance.RunCrawlers(t, harness{})
}
