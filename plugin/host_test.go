package plugin_test

import "os"

const hostEnv = "SHARESTORE_PLUGIN_TEST_HOST"

func runHost() { os.Exit(0) }
