#!/usr/bin/env bash
# The whole benchmark table of the issue "Crawl at the speed of the
# listing", in one run: the disk cycles against their baselines, whole
# crawl processes in process and through the plugin, whole cloud cycles
# over MinIO against the raw SDK and rclone size (and under 20 ms of
# latency), and copy disk→MinIO against the raw SDK. Every part takes
# turns between the runs it compares, so each ratio's two sides share
# the machine's conditions. The raw output goes to bench-logs/, the
# table to stdout, headed by the date and the machine.
#
#   scripts/bench.sh                     # disk 100k, MinIO 20k and 100k, copy 20k: about 40 minutes
#   DISK_SHARES=1000000 DISK_COUNT=1 DISK_BENCHTIME=1x PROCESS_PAIRS=1 PROCESS_MODES=inprocess \
#       CLOUD_SHARES= COPY_SHARES= scripts/bench.sh   # the 1M disk figures alone
#
# An empty CLOUD_SHARES or COPY_SHARES skips that part. rclone is built
# at a pinned version by scripts/bench-cloud.sh, never by make test.
set -euo pipefail
cd "$(dirname "$0")/.."

DISK_SHARES=${DISK_SHARES-100000}
DISK_COUNT=${DISK_COUNT-3}
DISK_BENCHTIME=${DISK_BENCHTIME-2x}
PROCESS_PAIRS=${PROCESS_PAIRS-5}
PROCESS_MODES=${PROCESS_MODES-}
CLOUD_SHARES=${CLOUD_SHARES-20000 100000}
COPY_SHARES=${COPY_SHARES-20000}
COPY_TRANSFERS=${COPY_TRANSFERS-8,32}

logs=$PWD/bench-logs/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$logs"
summary=$logs/summary.txt

say() { echo "$@" | tee -a "$summary"; }

say "# sharestore benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with changes)')"
say "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/^Mem:/ {print $2}') GiB, $(uname -sm), $(go version | cut -d' ' -f3)"
say "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
say

if [ -n "$DISK_SHARES" ]; then
	echo "disk cycles, $DISK_SHARES shares ..." >&2
	# go test -count repeats each sub-benchmark back to back; whole runs
	# in a loop make the walk, the header walk and the cycles take turns.
	: >"$logs/disk.txt"
	for ((i = 0; i < DISK_COUNT; i++)); do
		SHARESTORE_BENCH_SHARES=$DISK_SHARES go test -run '^$' -bench '^BenchmarkCycle$' \
			-benchtime "$DISK_BENCHTIME" -count 1 -timeout 120m ./crawler/ >>"$logs/disk.txt"
	done
	say "## disk, $DISK_SHARES shares: a cycle against the bare walk (medians of $DISK_COUNT rounds of $DISK_BENCHTIME, the runs taking turns)"
	awk '
	  function median(s,   n, i, j, t, v) {
	    n = split(s, v, " ")
	    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
	    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	  }
	  /^BenchmarkCycle\// {
	    split($1, a, "/"); name = a[2]; sub(/-[0-9]+$/, "", name)
	    ns[name] = ns[name] " " $3
	    for (i = 4; i <= NF; i++) if ($(i) == "peak-heap-MiB") heap[name] = $(i-1)
	  }
	  END {
	    w = median(ns["walk"]) / 1e9; wh = median(ns["walk-headers"]) / 1e9
	    printf "%-20s %10s %14s %14s\n", "run", "seconds", "x walk", "peak heap MiB"
	    split("walk walk-headers buckets accounting-first accounting-steady", order, " ")
	    for (k = 1; k <= 5; k++) { n = order[k]; if (n in ns) printf "%-20s %10.3f %14.2f %14s\n", n, median(ns[n]) / 1e9, median(ns[n]) / 1e9 / w, (n in heap ? heap[n] : "-") }
	    printf "steady / walk %.2f (target 1.3 at 100k, 1.5 at 1M); first / walk-headers %.2f (target 1.5)\n",
	      median(ns["accounting-steady"]) / 1e9 / w, median(ns["accounting-first"]) / 1e9 / wh
	  }' "$logs/disk.txt" | tee -a "$summary"
	say

	echo "whole crawl processes, $DISK_SHARES shares ..." >&2
	SHARESTORE_PROCESS_BENCH_SHARES=$DISK_SHARES SHARESTORE_PROCESS_BENCH_PAIRS=$PROCESS_PAIRS \
		SHARESTORE_PROCESS_BENCH_MODES=$PROCESS_MODES \
		go test -count=1 -v -run '^TestProcessBenchmark$' -timeout 120m ./internal/cli/ >"$logs/process.txt"
	say "## disk, $DISK_SHARES shares: whole 'sharestore crawl --once --fast' processes, in process and through the plugin ($PROCESS_PAIRS pairs, order swapped every pair; target plugin/in process ≤ 1.15)"
	sed -n 's/^ *process_bench_linux_test.go:[0-9]*: BENCH //p' "$logs/process.txt" | tee -a "$summary"
	say
fi

if [ -n "$CLOUD_SHARES" ]; then
	for n in $CLOUD_SHARES; do
		echo "cloud cycles, $n shares ..." >&2
		SHARESTORE_CLOUD_BENCH_SHARES=$n scripts/bench-cloud.sh >"$logs/cloud-$n.txt"
		say "## MinIO, $n shares: whole accounting cycles (target steady ≤ 1.3x raw-sdk-flat, faster than rclone, no more LISTs; 32 in flight ≥ 10x 1 with 20 ms)"
		tee -a "$summary" <"$logs/cloud-$n.txt"
		say
	done
fi

if [ -n "$COPY_SHARES" ]; then
	echo "copy, $COPY_SHARES shares ..." >&2
	./scripts/install-emulators.sh >&2
	SHARESTORE_TOOLS_BIN=${SHARESTORE_TOOLS_BIN:-$PWD/.tools/bin} SHARESTORE_COPY_BENCH_SHARES=$COPY_SHARES \
		SHARESTORE_COPY_BENCH_TRANSFERS=$COPY_TRANSFERS \
		go test -count=1 -v -run '^TestCopyBenchmark$' -timeout 120m ./internal/cli/ >"$logs/copy.txt"
	say "## copy disk→MinIO, $COPY_SHARES shares, whole processes (target ≥ 1400 shares/s)"
	sed -n 's/^ *copy_bench_linux_test.go:[0-9]*: //p' "$logs/copy.txt" | tee -a "$summary"
	say
fi

say "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "raw output: $logs" >&2
