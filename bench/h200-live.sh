#!/usr/bin/env bash
# Live mode on one H200 (issue 9 §6), as one device call:
#   bash .gpu/on-host.sh bash bench/h200-live.sh N [STAGES]
# N = requests of the Azure 2023 code trace replayed; STAGES (default "bench moska prefix sim")
# picks what runs. Writes under $OUT (default out/h200-live): decoder.json, live.db (live runs
# of moska and prefix, then their sim replays with the calibrated H200), *.json summaries, and
# prints a table of TTFT/TPOT p50/p99 live vs sim with relative errors. EXTRA_SET adds --set
# overrides to the live runs (e.g. EXTRA_SET="policy.prefillTokenBudget=4096"); TAG names them.
set -uo pipefail
N=${1:-200}; STAGES=${2:-"bench moska prefix sim"}
OUT=${OUT:-out/h200-live}; mkdir -p "$OUT"; DB="$OUT/live.db"
M="node dist/cli/main.js"; TRACE=data/traces/azure_llm_2023_code.csv; SC=scenarios/live/h200-8b.yaml
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader 2>/dev/null | head -1
for s in $STAGES; do
  case $s in
    bench) timeout 240 node dist/bench/decoderBench.js --out "$OUT/decoder.json" 2>&1 | grep -v "^Warning" ;;
    moska|prefix)
      extra=(); for e in ${EXTRA_SET:-}; do extra+=(--set "$e"); done
      t="$s${TAG:-}"
      timeout ${LIVE_TIMEOUT:-400} $M replay $TRACE --live --scenario $SC --set workload.limit=$N --set system=$s "${extra[@]}" --label "live-$t-$N" --db "$DB" --json > "$OUT/live-$t.json" 2> "$OUT/live-$t.err"
      echo "live $t rc=$? $(tail -c 300 "$OUT/live-$t.err" | tr '\n' ' ')" ;;
    sim)
      for id in $(sqlite3 "$DB" "SELECT run_id FROM runs WHERE mode='live' AND status='finished'" 2>/dev/null || node -e "const D=require('better-sqlite3');const d=new D(process.argv[1]);console.log(d.prepare(\"SELECT run_id FROM runs WHERE mode='live' AND status='finished'\").pluck().all().join(' '))" "$DB"); do
        $M replay --from-run $id --from-db "$DB" --sim --label "sim-of-$id" --db "$DB" --json > "$OUT/sim-of-$id.json" 2>> "$OUT/sim.err"
        $M compare $id $(( $(node -e "const D=require('better-sqlite3');console.log(new D(process.argv[1]).prepare('SELECT max(run_id) FROM runs').pluck().get())" "$DB") )) --db "$DB" 2>&1 | tail -25
      done ;;
  esac
done
node -e '
const fs=require("fs"),p=process.argv[1];const rows=[];
for (const f of fs.readdirSync(p).filter(f=>f.endsWith(".json")&&f!=="decoder.json")) { try { const j=JSON.parse(fs.readFileSync(p+"/"+f,"utf8")); rows.push([f.replace(".json",""), j.requests.completed+"/"+j.requests.total, (j.throughput.outputTokensPerS??0).toFixed(1), j.latencyMs.ttft.p50, j.latencyMs.ttft.p99, j.latencyMs.tpot.p50, j.latencyMs.tpot.p99, (j.engine.config.hostOverheadShare??"")]) } catch {} }
console.log("| run | done | out tok/s | TTFT p50 ms | TTFT p99 | TPOT p50 ms | TPOT p99 | host/GPU |\n|:--|--:|--:|--:|--:|--:|--:|--:|");
for (const r of rows) console.log("| "+r.map(x=>typeof x==="number"?x.toFixed(2):x).join(" | ")+" |");
' "$OUT"
