#!/usr/bin/env bash
# One device call for issue 12's fidelity points, on the GPU host, from the project root:
#   OUT=/some/dir bash bench/h200-fidelity-run.sh [STAGES]
# STAGES (default "torch webgpu"):
#   torch   bench/measure_torch.py --sections gemm2,merge2,router2,lowp,gemmkernels (PyTorch CUDA; GEMMs where the fit is worst,
#           13 merge and 14 router shapes, FP8/int8 attention if this PyTorch has it: the probe prints what it found,
#           and the kernels cuBLAS launches per GEMM shape, torch.profiler, in meta.gemmKernels) -> $OUT/h200-torch-fidelity2.json (+ .log)
#   webgpu  `moska bench kernels --only shared --kv f32` at corpus sizes S = 256K and 512K (MOSKA_BENCH_SHARED_S), so
#           sharedAttention.default has shapes of different bytes -> $OUT/kernels-f32-s.json and, converted,
#           $OUT/h200-webgpu-f32-s.json. Needs dist/ (npm run build) and the .gpu bundle (make-bundle.sh) with
#           on-host.sh in it; skipped with a message when they are absent.
# Prints a short summary (the full per-shape lines are in the .log / .err files).
set -u
: "${OUT:?set OUT to the output folder}"
STAGES=${1:-"torch webgpu"}
has() { [[ " $STAGES " == *" $1 "* ]]; }
if has torch; then
  s=$(date +%s)
  PYTHONUNBUFFERED=1 timeout 240 python3 bench/measure_torch.py --sections gemm2,merge2,router2,lowp,gemmkernels \
    --out "$OUT/h200-torch-fidelity2.json" > "$OUT/h200-torch-fidelity2.log" 2>&1
  echo "torch rc=$? $(( $(date +%s) - s ))s"
  grep -E '^\{|lowp|^-- |shapes$|FAILED|measured,|^gemmkernels' "$OUT/h200-torch-fidelity2.log" | cut -c1-200 | head -60
fi
if has webgpu; then
  if [ -f .gpu/on-host.sh ] && [ -f dist/cli/main.js ]; then
    s=$(date +%s)
    MOSKA_BENCH_SHARED_S=262144,524288 MOSKA_BENCH_SHARED_B=16,64,128 timeout 220 bash .gpu/on-host.sh \
      node dist/cli/main.js bench kernels --json --only shared --kv f32 > "$OUT/kernels-f32-s.json" 2> "$OUT/kernels-f32-s.err"
    echo "webgpu rc=$? $(( $(date +%s) - s ))s"
    grep -iE 'error|lost|fail' "$OUT/kernels-f32-s.err" | grep -v '^Warning' | head -5
    bash .gpu/on-host.sh node dist/bench/kernelsToMeasurements.js --kv f32 --out "$OUT/h200-webgpu-f32-s.json" "$OUT/kernels-f32-s.json"
    bash .gpu/on-host.sh node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))
for (const x of r.rows) console.log(`  ${x.key} [${x.kv}] ${x.ms.toFixed(3)} ms, err ${x.err === null ? "-" : x.err.toExponential(1)} | ${x.note ?? ""}`)' "$OUT/kernels-f32-s.json"
  else
    echo "webgpu: skipped (needs .gpu/on-host.sh from make-bundle.sh and dist/ from npm run build)"
  fi
fi
