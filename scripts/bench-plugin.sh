#!/usr/bin/env bash
# Plugin benchmark: unthrottled crawl cycles over a 100k-share disk store,
# in process and through the sharestore-backend-disk plugin. Each
# benchmark iteration runs one cycle each way, back to back; the table
# shows the medians over COUNT runs of BENCHTIME iterations.
#   scripts/bench-plugin.sh                       # COUNT=5 BENCHTIME=3x
#   SHARESTORE_BENCH_SHARES=1000000 COUNT=1 BENCHTIME=1x scripts/bench-plugin.sh
# The plugin cycles run with the host at GOMAXPROCS-1, as sharestore crawl
# --plugin runs; to keep every processor in the host as well:
#   SHARESTORE_BENCH_PLUGIN_HOST_PROCS=$(nproc) scripts/bench-plugin.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(go test -run '^$' -bench '^BenchmarkCycle$' -benchtime "${BENCHTIME:-3x}" -count "${COUNT:-5}" -timeout 60m ./plugin/)
echo "$out"
echo
echo "shares: ${SHARESTORE_BENCH_SHARES:-100000}, runs: ${COUNT:-5} (medians), host GOMAXPROCS in the plugin cycles: ${SHARESTORE_BENCH_PLUGIN_HOST_PROCS:-one fewer}"
echo "$out" | awk "$(cat scripts/median.awk)"'
  /^BenchmarkCycle\// {
    split($1, a, "/"); c = a[2]; sub(/-[0-9]+$/, "", c); crawlers[c] = 1
    for (f = 5; f < NF; f += 2) {
      if ($(f + 1) == "inprocess-s/cycle") in_[c] = in_[c] " " $f
      if ($(f + 1) == "plugin-s/cycle") pl[c] = pl[c] " " $f
      if ($(f + 1) == "ratio") ra[c] = ra[c] " " $f
    }
  }
  END {
    printf "%-20s %12s %12s %8s\n", "crawler", "in-process s", "plugin s", "ratio"
    for (c in crawlers) printf "%-20s %12.3f %12.3f %8.3f\n", c, median(in_[c]), median(pl[c]), median(ra[c])
  }'
