#!/usr/bin/env bash
# Issue 12's simulator speed on a quiet host (one device call; no GPU used): `npm run bench:sim`'s cases
# that the goals name (the shipped Mooncake replay, Poisson 100k, Poisson 1M with peak RSS growth per
# request beyond 100k) on this build's `moska` bin, medians of REPEAT runs (default 2). Set OLD_CLI to
# another build's dist/bundle/main.js (or dist/cli/main.js) to run it interleaved, case by case. Needs
# $OUT and `dist` (npm run build); start it as
#   bash .gpu/on-host.sh bash bench/sim-speed-host.sh
# Writes $OUT/sim-mooncake.json, $OUT/sim-poisson.json (bench:sim's --out files) and prints their tables last.
set -u
: "${OUT:?set OUT to the output folder}"
repeat=${REPEAT:-2}
compare=(); [ -n "${OLD_CLI:-}" ] && compare=(--compare "$OLD_CLI")
node dist/bench/sim.js --only mooncake-replay --no-large --repeat "$repeat" "${compare[@]}" --out "$OUT/sim-mooncake.json" > "$OUT/sim-mooncake.txt" 2>&1
echo "mooncake rc=$?" >&2
node dist/bench/sim.js --only poisson --repeat 1 "${compare[@]}" --out "$OUT/sim-poisson.json" > "$OUT/sim-poisson.txt" 2>&1
echo "poisson rc=$?" >&2
grep -v ' · ' "$OUT/sim-mooncake.txt" "$OUT/sim-poisson.txt"
