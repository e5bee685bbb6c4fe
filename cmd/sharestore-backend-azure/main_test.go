package main_test

import (
	"testing"

	"github.com/sharestore/sharestore/internal/cloudplugin/plugintest"
)

var bin string

func TestMain(m *testing.M) { plugintest.Main(m, &bin) }

// The Azure plugin passes the conformance suite and the crawler scenarios
// (with the disk backend's golden files) when served in a subprocess.
func TestPluginAzure(t *testing.T) { plugintest.RunAll(t, bin, "azblob") }
