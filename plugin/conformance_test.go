package plugin_test

import (
	"testing"

	"github.com/sharestore/sharestore/conformance"
)

func TestRunBackendThroughDiskPlugin(t *testing.T) { conformance.RunBackend(t, newDiskHarness()) }

func TestRunCrawlersThroughDiskPlugin(t *testing.T) { conformance.RunCrawlers(t, newDiskHarness()) }
