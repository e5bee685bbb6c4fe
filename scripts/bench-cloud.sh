#!/usr/bin/env bash
# Cloud cycle benchmark: whole accounting cycles over a MinIO bucket (on
# loopback, behind a request-counting proxy) under each listing plan,
# against the raw SDK listing of the same keys and rclone size, in one
# run with the runs taking turns; then, with a delay added to every
# request, a steady cycle at 1 to 32 prefixes in flight.
#   scripts/bench-cloud.sh                          # 20k shares, 3 rounds, 20ms
#   SHARESTORE_CLOUD_BENCH_SHARES=100000 scripts/bench-cloud.sh
#   SHARESTORE_CLOUD_BENCH_DELAY=0 scripts/bench-cloud.sh   # no latency part
# rclone is built at a pinned version into .tools/bench (only here: make
# test never needs it); MinIO comes from scripts/install-emulators.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
RCLONE_VERSION=v1.76.0
bench=$PWD/.tools/bench
if ! "$bench/rclone" version 2>/dev/null | grep -q "rclone $RCLONE_VERSION"; then
	echo "building rclone $RCLONE_VERSION into $bench" >&2
	GOBIN=$bench go install "github.com/rclone/rclone@$RCLONE_VERSION"
fi
./scripts/install-emulators.sh >&2
export SHARESTORE_TOOLS_BIN=${SHARESTORE_TOOLS_BIN:-$PWD/.tools/bin}
SHARESTORE_CLOUD_BENCH_SHARES=${SHARESTORE_CLOUD_BENCH_SHARES:-20000} \
	SHARESTORE_CLOUD_BENCH_DELAY=${SHARESTORE_CLOUD_BENCH_DELAY:-20ms} \
	SHARESTORE_RCLONE=$bench/rclone \
	go test -v -count=1 -timeout 90m -run '^TestCycleBenchmark$' ./backends/s3/ | sed -n 's/^BENCH //p'
