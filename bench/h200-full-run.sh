#!/usr/bin/env bash
# The full kernel run of docs/kernels-h200.md, for the GPU host (one device call): the CUDA anchor, then
# `moska bench kernels` for int8 and f16 KV against it, then the unique f16 rows twice more (spread within
# one call). Needs $OUT, `dist` (npm run build) and the .gpu bundle; start it as
#   bash .gpu/on-host.sh bash bench/h200-full-run.sh
# Writes $OUT/anchor.json (+ .log), kernels-int8.json, kernels-f16.json, unique-f16-2.json, unique-f16-3.json
# and prints one line per row.
set -u
: "${OUT:?set OUT to the output folder}"
step() { # name, timeout, command...
  local name=$1 limit=$2; shift 2
  local s; s=$(date +%s)
  timeout "$limit" "$@"
  echo "$name rc=$? $(( $(date +%s) - s ))s" >&2
}
step anchor 240 python3 bench/anchor_torch.py "$OUT/anchor.json" > "$OUT/anchor.log" 2>&1
for kv in int8 f16; do
  step "$kv" 200 node dist/cli/main.js bench kernels --json --kv "$kv" --anchor "$OUT/anchor.json" > "$OUT/kernels-$kv.json" 2> "$OUT/kernels-$kv.err"
done
for i in 2 3; do
  step "unique f16 repeat $i" 100 node dist/cli/main.js bench kernels --json --only unique --kv f16 --anchor "$OUT/anchor.json" > "$OUT/unique-f16-$i.json" 2> "$OUT/unique-f16-$i.err"
done
for f in "$OUT"/kernels-*.json "$OUT"/unique-f16-*.json; do
  node -e '
const fs = require("fs"); const f = process.argv[1]
try {
  const r = JSON.parse(fs.readFileSync(f, "utf8"))
  for (const x of r.rows) console.log(`${f.split("/").pop()}: ${x.key} [${x.kv}] ${x.ms.toFixed(3)} ms, ${x.GBps.toFixed(0)} GB/s, err ${x.err === null ? "-" : x.err.toExponential(1)}, anchor ${x.anchorMs === undefined ? "-" : x.anchorMs.toFixed(3)}`)
} catch (e) { console.log(`${f}: no JSON (${e.message})`) }' "$f"
done
rm -f "$OUT"/*.err
