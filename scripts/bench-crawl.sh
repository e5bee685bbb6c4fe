#!/usr/bin/env bash
# Crawl benchmark: an unthrottled crawl cycle over a disk store against a
# bare directory walk of the same tree, in one run, with ratios.
#   scripts/bench-crawl.sh            # 100k shares
#   SHARESTORE_BENCH_SHARES=1000000 scripts/bench-crawl.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(go test -run '^$' -bench '^BenchmarkCycle$' -benchtime "${BENCHTIME:-3x}" -count "${COUNT:-1}" ./crawler/ | tee /dev/stderr)
echo
echo "shares: ${SHARESTORE_BENCH_SHARES:-100000}"
echo "$out" | awk '
  /^BenchmarkCycle\// {
    split($1, a, "/"); name = a[2]; sub(/-[0-9]+$/, "", name)
    ns[name] = $3
    for (i = 4; i <= NF; i++) if ($(i) == "peak-heap-MiB") heap[name] = $(i-1)
  }
  END {
    printf "%-20s %12s %8s %14s\n", "run", "seconds", "x walk", "peak heap MiB"
    for (n in ns) printf "%-20s %12.3f %8.2f %14s\n", n, ns[n]/1e9, ns[n]/ns["walk"], (n in heap ? heap[n] : "-")
  }'
