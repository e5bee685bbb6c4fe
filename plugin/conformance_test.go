//go:build unix

package plugin_test

import (
	"testing"

	"github.com/sharestore/sharestore"

	"github.com/sharestore/sharestore/conformance"
)

// TestRunBackendThroughDiskPlugin runs the suite on scratch backends
// that the disk plugin's own harness (plugin.WithHarness) makes and
// plants into, in the plugin's process.
func TestRunBackendThroughDiskPlugin(t *testing.T) { conformance.RunBackend(t, openDiskHarness(t)) }

// TestRunBackendThroughReadOnlyDiskPlugin configures the plugin with
// read_only=true: every mutation must fail with ErrPermissionDenied.
func TestRunBackendThroughReadOnlyDiskPlugin(t *testing.T) {
	conformance.RunBackend(t, &diskHarness{readOnly: true, roots: map[sharestore.Backend]string{}})
}

func TestRunCrawlersThroughDiskPlugin(t *testing.T) { conformance.RunCrawlers(t, openDiskHarness(t)) }
