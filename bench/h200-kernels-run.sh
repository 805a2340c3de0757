#!/usr/bin/env bash
# One device call for issue 14 and the H200-webgpu calibration (issue 12), on the GPU host:
#   bash .gpu/on-host.sh bash bench/h200-kernels-run.sh [STAGES]
# STAGES (default "anchor probe kernels fill f16off f32"):
#   anchor  bench/anchor_torch.py (PyTorch bf16 anchor) -> anchor.json
#   probe   bench/sgm-ops-probe2.mjs: subgroup-matrix op costs (f16 and int8), Dawn toggles -> sgm-ops2.json
#   kernels bench kernels --kv int8, then f16 (U = 60K and 64K) against the anchor -> kernels-int8.json, kernels-f16.json
#   f16var  the f16 tensor-core kernel at 32 rows, one and two O parts -> shared-f16-r32o*.json
#   fill    the unique rows with the old segment split (MOSKA_KV_SEGMENTS=fill) -> unique-fill.json
#   f16off  shared f16 rows on the f32 SIMT kernel (MOSKA_SHARED_F16_MMA=0) -> shared-f16-simt.json
#   f16knobs one f16-kernel knob at a time, and MOSKA_GPU_ROBUSTNESS=0 for f16 and int8 -> shared-*.json
#   f32     f32 KV (the live decoder's format) at more shapes, for moska calibrate -> kernels-f32.json
# Needs $OUT, dist (npm run build) and the .gpu bundle. Prints one line per row at the end.
set -u
: "${OUT:?set OUT to the output folder}"
STAGES=${1:-"anchor probe kernels f16var fill f16off f32"}
K="node dist/cli/main.js bench kernels --json ${EXTRA:-}"
A=(); [ -n "${ANCHOR:-}" ] && A=(--anchor "$ANCHOR"); [ -f "$OUT/anchor.json" ] && A=(--anchor "$OUT/anchor.json")
step() { # name, timeout, output file, command...
  local name=$1 limit=$2 out=$3; shift 3
  local s; s=$(date +%s)
  timeout "$limit" "$@" > "$out" 2> "$out.err"
  echo "$name rc=$? $(( $(date +%s) - s ))s $(grep -v '^Warning' "$out.err" | grep -iE 'error|lost|fail' | head -3 | tr '\n' ' ')" >&2
}
has() { [[ " $STAGES " == *" $1 "* ]]; }
if has anchor; then step anchor 200 "$OUT/anchor.log" python3 bench/anchor_torch.py "$OUT/anchor.json"; A=(--anchor "$OUT/anchor.json"); fi
if has probe; then step probe 120 "$OUT/probe.txt" node bench/sgm-ops-probe2.mjs "$OUT/sgm-ops2.json"; tail -60 "$OUT/probe.txt"; fi
if has kernels; then
  # one format per process, so a kernel that fails to compile on one format leaves the other's rows
  for kv in int8 f16; do step "kernels $kv" 200 "$OUT/kernels-$kv.json" env MOSKA_BENCH_UNIQUE_U=61440,65536 $K --kv $kv "${A[@]}"; done
fi
if has f16var; then
  # the f16 tensor-core kernel's shape variants (src/gpu/sharedF16/f16Options.ts)
  step "f16 rows=32" 90 "$OUT/shared-f16-r32o1.json" env MOSKA_SHARED_F16_ROWS=32 $K --only shared --kv f16 "${A[@]}"
  step "f16 rows=32 oparts=2" 90 "$OUT/shared-f16-r32o2.json" env MOSKA_SHARED_F16_ROWS=32 MOSKA_SHARED_F16_OPARTS=2 $K --only shared --kv f16 "${A[@]}"
fi
if has fill; then step fill 90 "$OUT/unique-fill.json" env MOSKA_KV_SEGMENTS=fill MOSKA_BENCH_UNIQUE_U=61440,65536 $K --only unique --kv f16,int8 "${A[@]}"; fi
if has f16off; then step f16off 150 "$OUT/shared-f16-simt.json" env MOSKA_SHARED_F16_MMA=0 $K --only shared --kv f16 "${A[@]}"; fi
if has f16knobs; then
  # one knob of the f16 tensor-core kernel at a time (f16Options.ts), and Dawn's robustness off for both tensor-core kernels
  for kv in "MOSKA_SHARED_F16_KVSTRIDE=144" "MOSKA_SHARED_F16_SSTRIDE=68" "MOSKA_SHARED_F16_PSTRIDE=80" "MOSKA_SHARED_F16_OPAD=4" "MOSKA_GPU_ROBUSTNESS=0"; do
    step "f16 $kv" 90 "$OUT/shared-f16-${kv%%=*}.json" env $kv $K --only shared --kv f16 "${A[@]}"
  done
  step "int8 robustness off" 90 "$OUT/shared-int8-robustness0.json" env MOSKA_GPU_ROBUSTNESS=0 $K --only shared --kv int8 "${A[@]}"
fi
if has f32; then step f32 200 "$OUT/kernels-f32.json" env MOSKA_BENCH_UNIQUE_U=32768,49152,65536 MOSKA_BENCH_SHARED_B=16,32,64,128 $K --only unique,shared --kv f32; fi
for f in "$OUT"/kernels*.json "$OUT"/unique-fill.json "$OUT"/shared-*.json; do
  [ -f "$f" ] || continue
  node -e '
const fs = require("fs"); const f = process.argv[1]
try {
  const r = JSON.parse(fs.readFileSync(f, "utf8"))
  console.log(`${f.split("/").pop()}: ceilings ${JSON.stringify({ copy: Math.round(r.ceilings.copyGBps), read: Math.round(r.ceilings.readGBps ?? 0), gemm: r.ceilings.gemmF32TFLOPs?.toFixed(1) })}`)
  for (const x of r.rows) console.log(`  ${x.key} [${x.kv}] ${x.ms.toFixed(3)} ms, ${x.GBps.toFixed(0)} GB/s, ${x.TFLOPs.toFixed(1)} TF, err ${x.err === null || x.err === undefined ? "-" : x.err.toExponential(1)}, anchor ${x.anchorMs === undefined ? "-" : x.anchorMs.toFixed(3)} | ${x.note ?? ""}`)
} catch (e) { console.log(`${f}: no JSON (${e.message})`) }' "$f"
done
# The device tool returns a handful of files: PACK=1 puts everything in one archive.
if [ "${PACK:-0}" = 1 ]; then tar -C "$OUT" -czf /tmp/results.tgz . && rm -rf "${OUT:?}"/* && mv /tmp/results.tgz "$OUT/"; fi
