//go:build unix

package plugin_test

import (
	"testing"

	"github.com/sharestore/sharestore"

	"github.com/sharestore/sharestore/conformance"
)

func TestRunBackendThroughDiskPlugin(t *testing.T) { conformance.RunBackend(t, newDiskHarness()) }

// TestRunBackendThroughReadOnlyDiskPlugin configures the plugin with
// read_only=true: every mutation must fail with ErrPermissionDenied.
func TestRunBackendThroughReadOnlyDiskPlugin(t *testing.T) {
	conformance.RunBackend(t, &diskHarness{readOnly: true, roots: map[sharestore.Backend]string{}})
}

func TestRunCrawlersThroughDiskPlugin(t *testing.T) { conformance.RunCrawlers(t, newDiskHarness()) }
