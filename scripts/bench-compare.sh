#!/usr/bin/env bash
# Compare this tree's crawl and plugin benchmarks with another commit's, in
# one run: the two trees take turns, round after round (in ABBA order), so
# both sides of every ratio share the machine's conditions. It prints the median of each
# figure on each side and head/base.
#   scripts/bench-compare.sh REV                  # ROUNDS=3, BENCHTIME=3x, 100k shares
#   ROUNDS=5 scripts/bench-compare.sh HEAD~3
#   PACKAGES=./crawler/ scripts/bench-compare.sh REV   # the crawl benchmark only
#   RAW=1 scripts/bench-compare.sh REV             # every run's line too
#   BENCH=BenchmarkCycle/accounting-steady scripts/bench-compare.sh REV   # one sub-benchmark
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:?usage: scripts/bench-compare.sh REV}
rev=$(git rev-parse --short "$base")
tmp=$(mktemp -d)
trap 'git worktree remove --force "$tmp/base" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
git worktree add --detach -q "$tmp/base" "$base"
pkgs=${PACKAGES:-./crawler/ ./plugin/}
for r in $(seq "${ROUNDS:-3}"); do
	# ABBA order: odd rounds run base first, even rounds head first, so
	# neither side always runs on a machine the other has just warmed.
	order="base head"
	[ $((r % 2)) = 0 ] && order="head base"
	for side in $order; do
		dir=.
		[ "$side" = base ] && dir=$tmp/base
		echo "round $r: $side" >&2
		# shellcheck disable=SC2086
		(cd "$dir" && go test -run '^$' -bench "${BENCH:-^BenchmarkCycle$}" -benchtime "${BENCHTIME:-3x}" -timeout 60m $pkgs) |
			awk -v side="$side" '/^pkg:/ { pkg = $2; sub(/.*\//, "", pkg) } /^BenchmarkCycle\// { print side, pkg, $0 }' >>"$tmp/out"
	done
done
if [ -n "${RAW:-}" ]; then
	cat "$tmp/out"
fi
echo
echo "head: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with uncommitted changes)'), base: $rev, rounds: ${ROUNDS:-3}, shares: ${SHARESTORE_BENCH_SHARES:-100000}"
awk "$(cat scripts/median.awk)"'
  {
    side = $1; pkg = $2; name = $3; sub(/^BenchmarkCycle\//, "", name); sub(/-[0-9]+$/, "", name)
    k = pkg "/" name " s/op"; keys[k] = 1; v[side, k] = v[side, k] " " $5 / 1e9
    for (f = 7; f < NF; f += 2) {
      if ($(f + 1) ~ /s\/cycle$|^ratio$/) { k = pkg "/" name " " $(f + 1); keys[k] = 1; v[side, k] = v[side, k] " " $f }
    }
  }
  END {
    for (k in keys) {
      b = median(v["base", k]); h = median(v["head", k])
      printf "%-48s %10.3f %10.3f %10.3f\n", k, b, h, (b > 0 ? h / b : 0)
    }
  }' "$tmp/out" | sort | { printf "%-48s %10s %10s %10s\n" "figure (median)" base head head/base; cat; }
