#!/usr/bin/env bash
# Issue 14, session 10 (helper K): one device call that A/B's the lazily rescaled f16 tensor-core kernel against the
# default kernels, with the PyTorch anchor of the same call, on the GPU host:
#   PACK=1 bash .gpu/on-host.sh bash bench/h200-kernels-s10.sh [STEPS]     (dist built here: npm run build; carry .gpu, dist)
# Variants (each an env knob; the default kernels are unchanged):
#   f16                 shared f16 tensor-core kernel as it is (O through workgroup memory every 64-key tile), + perreq
#   f16-lazy            MOSKA_SHARED_F16_OACC=lazy: O stays in f32 result matrices across tiles, rescaled through
#                       workgroup memory only when a row max climbs by > 8 (src/gpu/sharedF16/sharedF16.wgsl.ts, oAcc)
#   f16-lazy-v4         the same with vec4<f16> workgroup tiles (MOSKA_SHARED_F16_WSM=vec4)
#   f16-ve / f16-lazy-ve  MOSKA_SHARED_F16_VLOAD=early: the V tile's global loads issued with K's, before the first
#                       barrier (SharedF16Options.vLoad), on the default / the lazy kernel
#   f16-lazy-r32        the same with 32-row tiles (MOSKA_SHARED_F16_ROWS=32; session 7: 32 rows won only at top-k B = 16)
#   ...-rob0            Dawn's robustness off (MOSKA_GPU_ROBUSTNESS=0), the twins of the default and the lazy kernels
#   int8 / i8f16-lazy  int8 KV: the default int8 tensor-core kernel (+ perreq, for the >= 15x target) / int8 KV
#                       staged into the lazy f16 kernel (MOSKA_SHARED_INT8_F16=1 MOSKA_SHARED_F16_OACC=lazy)
#   f16-lazy-load / f16-lazy-none  session 10b's bisect of the lazy kernel's error on the H200 (not in the default
#                       steps): MOSKA_SHARED_F16_LAZY_O=load, the session-10 reload of the result matrices; =none, no
#                       rescale block at all (right only while no row max climbs by > 8). The 10b call was
#                       NAME=s10b BUDGET_S=240 ... bash bench/h200-kernels-s10.sh "anchor f16 f16-lazy f16-lazy-rob0 f16-rob0 f16-lazy-load f16-lazy-none"
#   sgm-loop            helper K3 (not in the default steps): bench/sgm-loop-probe.mjs, whether an f16 result matrix
#                       accumulating across a loop back-edge is right on the device (15 minimal variants, real and
#                       emulated builtins, robustness on and off, each against float64; needs no dist). Its JSON is
#                       $OUT/sgm-loop.json, its table ($OUT/sgm-loop.txt) is printed last. One call:
#                       PACK=1 NAME=k3 BUDGET_S=200 bash .gpu/on-host.sh bash bench/h200-kernels-s10.sh "sgm-loop"
# Shapes: shared S = 1M dense and top-k 25% at B = 16/64/256 (moska rows = router + shared + merge), perreq B = 256
# (ratio perreq / moska top25). Steps run in priority order and stop starting new ones after BUDGET_S seconds
# (default 480) so the call stays under 9 minutes.
# Prints one line per step as it goes and ONE table last; every step's JSON stays under $OUT (PACK=1: one .tgz).
# QUICK=1: the bench's small shapes (a lavapipe smoke run of this script; no anchor rows match them).
# NAME (default s10) names the summary ($OUT/NAME-summary.json) and the PACK=1 archive ($OUT/NAME-results.tgz).
set -u
: "${OUT:?set OUT to the output folder}"
BUDGET_S=${BUDGET_S:-480}
NAME=${NAME:-s10}
T0=$(date +%s)
K="node dist/cli/main.js bench kernels --json"
if [ "${QUICK:-0}" = 1 ]; then K="$K --quick"; fi
STEPS=${1:-"anchor f16 f16-lazy f16-rob0 f16-lazy-rob0 f16-lazy-ve f16-ve int8 i8f16-lazy f16-lazy-ve-rob0 f16-lazy-v4 f16-lazy-r32 f16-lazy-v4-rob0 i8f16-lazy-rob0"}
A=()
[ -n "${ANCHOR:-}" ] && A=(--anchor "$ANCHOR")
step() { # name, timeout, command... (stdout -> $OUT/<name>.json, or .$EXT)
  local name=$1 limit=$2; shift 2
  [ "${QUICK:-0}" = 1 ] && limit=$(( limit * 6 )) # lavapipe on a shared CPU is slow even at the small shapes
  local el=$(( $(date +%s) - T0 ))
  if [ "$el" -ge "$BUDGET_S" ]; then echo "$name skipped (${el}s used of ${BUDGET_S}s)" >&2; return; fi
  local left=$(( BUDGET_S + 20 - el )); [ "$left" -lt "$limit" ] && limit=$left
  local s; s=$(date +%s)
  timeout "$limit" "$@" > "$OUT/$name.${EXT:-json}" 2> "$OUT/$name.err"
  echo "$name rc=$? $(( $(date +%s) - s ))s $(grep -v '^Warning' "$OUT/$name.err" | grep -iE 'error|lost|fail' | head -2 | tr '\n' ' ')" >&2
}
L="MOSKA_SHARED_F16_OACC=lazy"
R="MOSKA_GPU_ROBUSTNESS=0"
for st in $STEPS; do
  case $st in
    anchor) step anchor 150 python3 bench/anchor_torch.py "$OUT/anchor-torch.json"
            [ -f "$OUT/anchor-torch.json" ] && A=(--anchor "$OUT/anchor-torch.json") ;;
    f16) step f16 120 $K --only shared,moska,perreq --kv f16 "${A[@]}" ;;
    f16-lazy) step f16-lazy 90 env $L $K --only shared,moska --kv f16 "${A[@]}" ;;
    f16-rob0) step f16-rob0 90 env $R $K --only shared,moska --kv f16 "${A[@]}" ;;
    f16-lazy-rob0) step f16-lazy-rob0 90 env $R $L $K --only shared,moska --kv f16 "${A[@]}" ;;
    f16-lazy-v4) step f16-lazy-v4 90 env $L MOSKA_SHARED_F16_WSM=vec4 $K --only shared,moska --kv f16 "${A[@]}" ;;
    f16-lazy-v4-rob0) step f16-lazy-v4-rob0 90 env $R $L MOSKA_SHARED_F16_WSM=vec4 $K --only shared,moska --kv f16 "${A[@]}" ;;
    f16-ve) step f16-ve 90 env MOSKA_SHARED_F16_VLOAD=early $K --only shared,moska --kv f16 "${A[@]}" ;;
    f16-lazy-ve) step f16-lazy-ve 90 env $L MOSKA_SHARED_F16_VLOAD=early $K --only shared,moska --kv f16 "${A[@]}" ;;
    f16-lazy-ve-rob0) step f16-lazy-ve-rob0 90 env $R $L MOSKA_SHARED_F16_VLOAD=early $K --only shared,moska --kv f16 "${A[@]}" ;;
    f16-lazy-r32) step f16-lazy-r32 90 env $L MOSKA_SHARED_F16_ROWS=32 $K --only shared,moska --kv f16 "${A[@]}" ;;
    int8) step int8 120 $K --only shared,moska,perreq --kv int8 "${A[@]}" ;;
    i8f16-lazy) step i8f16-lazy 90 env MOSKA_SHARED_INT8_F16=1 $L $K --only shared,moska --kv int8 "${A[@]}" ;;
    i8f16-lazy-rob0) step i8f16-lazy-rob0 90 env $R MOSKA_SHARED_INT8_F16=1 $L $K --only shared,moska --kv int8 "${A[@]}" ;;
    f16-lazy-load) step f16-lazy-load 90 env $L MOSKA_SHARED_F16_LAZY_O=load $K --only shared,moska --kv f16 "${A[@]}" ;;
    f16-lazy-none) step f16-lazy-none 90 env $L MOSKA_SHARED_F16_LAZY_O=none $K --only shared,moska --kv f16 "${A[@]}" ;;
    sgm-loop) EXT=txt step sgm-loop 180 node bench/sgm-loop-probe.mjs "$OUT/sgm-loop.json" ;; # its table: sgm-loop.txt
    *) echo "unknown step $st" >&2 ;;
  esac
done
echo "total $(( $(date +%s) - T0 ))s" >&2
# sgm-loop is a probe, not a bench kernels step: its table (stdout, without Dawn's warnings) goes after the kernels one.
KSTEPS=$(echo " $STEPS " | sed 's/ sgm-loop / /g')
node bench/s8-table.mjs "$OUT" "$OUT/$NAME-summary.json" "$KSTEPS"
if [ -f "$OUT/sgm-loop.txt" ]; then
  if grep -q '^sgm-loop-probe summary' "$OUT/sgm-loop.txt"; then grep -v '^Warning' "$OUT/sgm-loop.txt" | sed -n '/^sgm-loop-probe summary/,$p'
  else echo "sgm-loop: no summary (crashed or timed out?); its last lines and stderr:"; grep -v '^Warning' "$OUT/sgm-loop.txt" | tail -20; grep -v '^Warning' "$OUT/sgm-loop.err" | tail -5; fi
fi
# The device tool returns a handful of files: PACK=1 puts everything in one archive.
if [ "${PACK:-0}" = 1 ]; then tar -C "$OUT" -czf "/tmp/$NAME-results.tgz" . && rm -rf "${OUT:?}"/* && mv "/tmp/$NAME-results.tgz" "$OUT/"; fi
