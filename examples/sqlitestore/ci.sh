#!/usr/bin/env bash
# What the CI of a third-party backend runs: build the plugin binary,
# get the sharestore command, certify the binary with sharestore
# conformance, and exit with its code: 0 when every test passed or is a
# known failure, 1 when a test failed, 2 when the run could not start
# (bad usage, a bad known-failures file, a plugin that does not start).
# JUnit XML and JSON Lines go to results/. Extra arguments go to
# sharestore conformance (--parallel 2, --short, --run REGEX, -v).
set -euo pipefail
cd "$(dirname "$0")"
GO=${GO:-go}
mkdir -p bin results

"$GO" build -o bin/ ./cmd/sharestore-backend-sqlite

# The sharestore command: $SHARESTORE when set, else built from the
# sharestore checkout this example sits in (the module its go.mod
# replaces). A backend of your own installs a release instead:
#   go install github.com/sharestore/sharestore/cmd/sharestore@VERSION
if [ -z "${SHARESTORE:-}" ]; then
	"$GO" -C ../.. build -o "$PWD/bin/" ./cmd/sharestore
	SHARESTORE=bin/sharestore
fi

# The plugin serves its own harness (plugin.WithHarness), so no
# --backend is needed: every test gets a fresh SQLite file made, and
# planted, inside the plugin process.
exec "$SHARESTORE" conformance \
	--plugin ./bin/sharestore-backend-sqlite \
	--junit results/junit.xml \
	--json results/results.json \
	--known-failures known-failures.txt \
	"$@"
