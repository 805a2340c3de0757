#!/usr/bin/env bash
# `moska serve --executor webgpu` on one H200 under `moska bench serve` (issue 13), as one device call:
#   bash .gpu/on-host.sh bash bench/h200-serve.sh [STAGES]
# STAGES (default "overhead trace random"): overhead = `bench:serve-overhead` (priced executor, CPU
# only) on the GPU host's quiet cores; trace = the first TRACE_N rows of the Azure 2023 code trace
# (their lengths) at TRACE_RATE req/s; random = RANDOM_N prompts of RANDOM_IN tokens asking for
# RANDOM_OUT at RANDOM_RATE req/s. One server start serves both load runs (one run in serve.db).
# Writes under $OUT: serve.db, serve.log, bench-*.json (vLLM's result fields), overhead.json; prints tables.
set -uo pipefail
STAGES=${1:-"overhead trace random"}
OUT=${OUT:-out/h200-serve}; mkdir -p "$OUT"
M="node dist/cli/main.js"; SC=scenarios/live/h200-8b.yaml; PORT=${PORT:-8011}; URL=http://127.0.0.1:$PORT
stamp() { echo "[$(date +%H:%M:%S)] $*"; }
if [[ " $STAGES " == *" overhead "* ]]; then
  stamp "serve-overhead (priced) start"
  timeout ${OVERHEAD_TIMEOUT:-200} node dist/bench/serveOverhead.js --limit ${OVERHEAD_N:-120} --rates ${OVERHEAD_RATES:-2,8,16} --out "$OUT/overhead.json" 2>&1 | grep -v "^Warning" | tail -14
  stamp "serve-overhead rc=${PIPESTATUS[0]}"
fi
if [[ " $STAGES " == *" trace "* || " $STAGES " == *" random "* ]]; then
  stamp "serve webgpu start"
  $M serve $SC --executor ${EXECUTOR:-webgpu} --port $PORT --db "$OUT/serve.db" --label serve-h200-${EXECUTOR:-webgpu} > "$OUT/serve.log" 2>&1 &
  pid=$!
  up=0
  for i in $(seq 1 ${HEALTH_WAIT_S:-240}); do
    if node -e 'fetch(process.argv[1]+"/health").then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))' "$URL"; then up=1; break; fi
    kill -0 $pid 2>/dev/null || break
    sleep 1
  done
  stamp "health up=$up after ${i}s"
  if [ $up = 1 ]; then
    if [[ " $STAGES " == *" trace "* ]]; then
      timeout ${TRACE_TIMEOUT:-200} $M bench serve --url $URL --trace data/traces/azure_llm_2023_code.csv --num-prompts ${TRACE_N:-16} --request-rate ${TRACE_RATE:-0.2} --ignore-eos \
        --percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,90,99 --save-result "$OUT/bench-trace.json" 2>&1 | grep -v "^Warning" | tail -30
      stamp "bench trace rc=${PIPESTATUS[0]}"
    fi
    if [[ " $STAGES " == *" random "* ]]; then
      timeout ${RANDOM_TIMEOUT:-150} $M bench serve --url $URL --random-input-len ${RANDOM_IN:-256} --random-output-len ${RANDOM_OUT:-32} --num-prompts ${RANDOM_N:-32} --request-rate ${RANDOM_RATE:-1} --ignore-eos \
        --percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,90,99 --save-result "$OUT/bench-random.json" 2>&1 | grep -v "^Warning" | tail -30
      stamp "bench random rc=${PIPESTATUS[0]}"
    fi
    node -e 'fetch(process.argv[1]+"/metrics").then(r=>r.text()).then(t=>require("fs").writeFileSync(process.argv[2],t))' "$URL" "$OUT/metrics.txt"
  fi
  kill -TERM $pid 2>/dev/null; wait $pid; stamp "serve exit rc=$?"
  grep -v "^Warning" "$OUT/serve.log" | tail -8
  $M query runs --db "$OUT/serve.db" 2>&1 | tail -4
  $M query latency --db "$OUT/serve.db" 2>&1 | tail -8
fi
