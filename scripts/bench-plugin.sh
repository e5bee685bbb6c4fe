#!/usr/bin/env bash
# Plugin benchmark: unthrottled crawl cycles over a 100k-share disk store,
# in process and through the sharestore-backend-disk plugin, in one run.
#   scripts/bench-plugin.sh
#   SHARESTORE_BENCH_SHARES=1000000 scripts/bench-plugin.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(go test -run '^$' -bench '^BenchmarkCycle$' -benchtime "${BENCHTIME:-3x}" -count "${COUNT:-1}" ./plugin/ | tee /dev/stderr)
echo
echo "shares: ${SHARESTORE_BENCH_SHARES:-100000}"
echo "$out" | awk '
  /^BenchmarkCycle\// {
    split($1, a, "/"); c = a[2]; w = a[3]; sub(/-[0-9]+$/, "", w)
    ns[c "/" w] = $3; crawlers[c] = 1
  }
  END {
    printf "%-20s %12s %12s %8s\n", "crawler", "in-process s", "plugin s", "ratio"
    for (c in crawlers) printf "%-20s %12.3f %12.3f %8.3f\n", c, ns[c "/inprocess"]/1e9, ns[c "/plugin"]/1e9, ns[c "/plugin"]/ns[c "/inprocess"]
  }'
