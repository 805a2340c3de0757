#!/usr/bin/env bash
# Issue 14, session 8: one device call that A/B's the new kernel variants against the session-7 kernels,
# with the PyTorch anchor of the same call, on the GPU host:
#   PACK=1 bash .gpu/on-host.sh bash bench/h200-kernels-s8.sh [STEPS]     (dist built here: npm run build; carry .gpu, dist)
# Variants (each an env knob; the default kernels are unchanged, docs/kernels-h200.md session 7):
#   f16 / f16-v4        shared f16 tensor-core kernel, workgroup tiles array<f16> / array<vec4<f16>> (MOSKA_SHARED_F16_WSM=vec4)
#   ...-rob0            the same with Dawn's robustness off (MOSKA_GPU_ROBUSTNESS=0), to see whether vec4 closes the gap
#   int8 / int8-v4      shared int8 tensor-core kernel, workgroup tiles array<i32> / array<vec4<u32>> (MOSKA_SHARED_INT8_WSM=vec4)
#   int8-f16[-v4][-rob0] int8 KV on the f16 tensor-core kernel, dequantized while staged (MOSKA_SHARED_INT8_F16=1)
#   uniq / uniq-vlate / uniq-wg256 / uniq-wg64 / uniq-twg16k / uniq-vlate-wg256   unique decode: default, V loads after the softmax
#                       (MOSKA_UNIQUE_VLOAD=late), 256- or 64-thread workgroups (MOSKA_UNIQUE_WG), twice the splits
#                       (MOSKA_UNIQUE_TARGET_WG=16384)
# Shapes: shared S = 1M dense and top-k 25% at B = 16/64/256 (moska rows = router + shared + merge), perreq B = 256
# (ratio perreq / moska top25), unique U = 64K at B = 16/64 (f16 and int8). Steps run in priority order and stop
# starting new ones after BUDGET_S seconds (default 500) so the call stays under 9 minutes.
# Prints one line per step as it goes and ONE table last; every step's JSON stays under $OUT (PACK=1: one .tgz).
set -u
: "${OUT:?set OUT to the output folder}"
BUDGET_S=${BUDGET_S:-500}
T0=$(date +%s)
K="node dist/cli/main.js bench kernels --json"
U="env MOSKA_BENCH_UNIQUE_U=65536"
# QUICK=1: the bench's small shapes (a lavapipe smoke run of this script; no anchor rows match them).
if [ "${QUICK:-0}" = 1 ]; then K="$K --quick"; U="env"; fi
STEPS=${1:-"anchor f16 f16-v4 int8 int8-v4 int8-f16 int8-f16-v4 uniq uniq-vlate f16-rob0 f16-v4-rob0 uniq-wg256 uniq-twg16k uniq-vlate-wg256 int8-f16-v4-rob0 uniq-wg64"}
A=()
[ -n "${ANCHOR:-}" ] && A=(--anchor "$ANCHOR")
step() { # name, timeout, command... (stdout -> $OUT/<name>.json)
  local name=$1 limit=$2; shift 2
  local el=$(( $(date +%s) - T0 ))
  if [ "$el" -ge "$BUDGET_S" ]; then echo "$name skipped (${el}s used of ${BUDGET_S}s)" >&2; return; fi
  local left=$(( BUDGET_S + 20 - el )); [ "$left" -lt "$limit" ] && limit=$left
  local s; s=$(date +%s)
  timeout "$limit" "$@" > "$OUT/$name.json" 2> "$OUT/$name.err"
  echo "$name rc=$? $(( $(date +%s) - s ))s $(grep -v '^Warning' "$OUT/$name.err" | grep -iE 'error|lost|fail' | head -2 | tr '\n' ' ')" >&2
}
for st in $STEPS; do
  case $st in
    anchor) step anchor 150 python3 bench/anchor_torch.py "$OUT/anchor-torch.json"
            [ -f "$OUT/anchor-torch.json" ] && A=(--anchor "$OUT/anchor-torch.json") ;;
    f16) step f16 120 $K --only shared,moska,perreq --kv f16 "${A[@]}" ;;
    f16-v4) step f16-v4 90 env MOSKA_SHARED_F16_WSM=vec4 $K --only shared,moska --kv f16 "${A[@]}" ;;
    f16-rob0) step f16-rob0 90 env MOSKA_GPU_ROBUSTNESS=0 $K --only shared,moska --kv f16 "${A[@]}" ;;
    f16-v4-rob0) step f16-v4-rob0 90 env MOSKA_GPU_ROBUSTNESS=0 MOSKA_SHARED_F16_WSM=vec4 $K --only shared,moska --kv f16 "${A[@]}" ;;
    int8) step int8 120 $K --only shared,moska,perreq --kv int8 "${A[@]}" ;;
    int8-v4) step int8-v4 90 env MOSKA_SHARED_INT8_WSM=vec4 $K --only shared,moska --kv int8 "${A[@]}" ;;
    int8-f16) step int8-f16 90 env MOSKA_SHARED_INT8_F16=1 $K --only shared,moska --kv int8 "${A[@]}" ;;
    int8-f16-v4) step int8-f16-v4 90 env MOSKA_SHARED_INT8_F16=1 MOSKA_SHARED_F16_WSM=vec4 $K --only shared,moska --kv int8 "${A[@]}" ;;
    int8-f16-v4-rob0) step int8-f16-v4-rob0 90 env MOSKA_GPU_ROBUSTNESS=0 MOSKA_SHARED_INT8_F16=1 MOSKA_SHARED_F16_WSM=vec4 $K --only shared,moska --kv int8 "${A[@]}" ;;
    uniq) step uniq 60 $U $K --only unique --kv f16,int8 "${A[@]}" ;;
    uniq-vlate) step uniq-vlate 60 $U MOSKA_UNIQUE_VLOAD=late $K --only unique --kv f16,int8 "${A[@]}" ;;
    uniq-wg256) step uniq-wg256 60 $U MOSKA_UNIQUE_WG=256 $K --only unique --kv f16,int8 "${A[@]}" ;;
    uniq-vlate-wg256) step uniq-vlate-wg256 60 $U MOSKA_UNIQUE_VLOAD=late MOSKA_UNIQUE_WG=256 $K --only unique --kv f16,int8 "${A[@]}" ;;
    uniq-wg64) step uniq-wg64 60 $U MOSKA_UNIQUE_WG=64 $K --only unique --kv f16,int8 "${A[@]}" ;;
    uniq-twg16k) step uniq-twg16k 60 $U MOSKA_UNIQUE_TARGET_WG=16384 $K --only unique --kv f16,int8 "${A[@]}" ;;
    *) echo "unknown step $st" >&2 ;;
  esac
done
echo "total $(( $(date +%s) - T0 ))s" >&2
node bench/s8-table.mjs "$OUT" "$OUT/s8-summary.json" "$STEPS"
# The device tool returns a handful of files: PACK=1 puts everything in one archive.
if [ "${PACK:-0}" = 1 ]; then tar -C "$OUT" -czf /tmp/s8-results.tgz . && rm -rf "${OUT:?}"/* && mv /tmp/s8-results.tgz "$OUT/"; fi
