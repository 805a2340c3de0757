#!/usr/bin/env bash
# Disaggregated vs colocated live MoSKA on one H200 (issue 15), as one device call:
#   bash .gpu/on-host.sh bash bench/h200-disagg.sh N
# N = requests of the Azure 2023 code trace (default 10). Runs, back to back on the same GPU:
#  1. disaggregated: `moska live scenarios/live/h200-8b-disagg.yaml --bind ipc://… --links real`
#     (the coordinator) and two `moska worker --executor webgpu` processes (unique-0: decoder and
#     each request's KV; shared-0: the 64K-token corpus and its attention), each layer's query rows
#     and partials crossing between the two worker processes;
#  2. colocated: the same N requests on one decoder (`moska live scenarios/live/h200-8b.yaml`, the
#     same run as `moska replay TRACE --live --scenario scenarios/live/h200-8b.yaml`, with --tokens-out).
# Writes under $OUT (default out/h200-disagg): live.db (both runs), disagg.json / colocated.json
# summaries, *.err logs, *.tokens.json (token ids per request). Prints `moska query summary` of
# each run, a table of throughput and TTFT/TPOT p50/p99, and the self-check: how many requests
# generated the same token ids in both runs (f32 on both sides; the shared attention's key splits
# follow the batch, so a rare late greedy flip between differently batched runs is rounding, while
# a wrong remote layer would change nearly every request's tokens from the first one).
# DISAGG_SCENARIO / COLO_SCENARIO / SETS (space-separated --set overrides for both runs, default
# workload.limit=N) / COLO_SETS (the colocated run's extra ones) rerun it on other scenarios, e.g.
# lavapipe: DISAGG_SCENARIO=scenarios/live/tiny-webgpu-disagg.yaml COLO_SCENARIO=$DISAGG_SCENARIO SETS= COLO_SETS=policy.disaggregated=false
set -uo pipefail
N=${1:-10}
DSC=${DISAGG_SCENARIO:-scenarios/live/h200-8b-disagg.yaml}; CSC=${COLO_SCENARIO:-scenarios/live/h200-8b.yaml}
sets=(); for e in ${SETS-workload.limit=$N}; do sets+=(--set "$e"); done
colo=(); for e in ${COLO_SETS:-}; do colo+=(--set "$e"); done
OUT=${OUT:-out/h200-disagg}; mkdir -p "$OUT"; DB="$OUT/live.db"; rm -f "$DB" "$DB"-wal "$DB"-shm
M="node dist/cli/main.js"
SOCK="ipc:///tmp/moska-h200-disagg-$$.sock"
# Pipeline compiles can hold a process's event loop for a while: nobody counts as lost meanwhile.
PATIENT=(--lost-after-ms 120000)
T=${RUN_TIMEOUT:-200}
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader 2>/dev/null | head -1

echo "== disaggregated: coordinator + unique-0 + shared-0 on $SOCK"
timeout "$T" $M live "$DSC" "${sets[@]}" --bind "$SOCK" --links real --workers-timeout-s 150 "${PATIENT[@]}" \
  --label "disagg-$N" --db "$DB" --json > "$OUT/disagg.json" 2> "$OUT/coordinator.err" &
C=$!
timeout "$T" $M worker --role unique --connect "$SOCK" --executor webgpu "${PATIENT[@]}" --tokens-out "$OUT/disagg.tokens.json" 2> "$OUT/unique.err" &
U=$!
timeout "$T" $M worker --role shared --connect "$SOCK" --executor webgpu "${PATIENT[@]}" 2> "$OUT/shared.err" &
S=$!
wait $C; rc=$?; wait $U; ru=$?; wait $S; rs=$?
echo "coordinator rc=$rc unique rc=$ru shared rc=$rs"
grep -hv "^Warning" "$OUT/coordinator.err" "$OUT/unique.err" "$OUT/shared.err" | grep -E "ready|joined|lost|moska:|Error|error| ran | answered " | head -20

echo "== colocated: the same $N requests on one decoder"
timeout "$T" $M live "$CSC" "${sets[@]}" "${colo[@]}" --tokens-out "$OUT/colocated.tokens.json" \
  --label "colocated-$N" --db "$DB" --json > "$OUT/colocated.json" 2> "$OUT/colocated.err"
echo "colocated rc=$?"; grep -v "^Warning" "$OUT/colocated.err" | tail -3

for label in "disagg-$N" "colocated-$N"; do
  id=$(node -e "const D=require('better-sqlite3');const r=new D(process.argv[1],{readonly:true}).prepare('SELECT run_id FROM runs WHERE label=? ORDER BY run_id DESC').pluck().get(process.argv[2]);console.log(r??'')" "$DB" "$label" 2>/dev/null)
  [ -n "$id" ] && { echo "== moska query summary: $label (run $id)"; $M query summary --db "$DB" --run "$id"; }
done

# what crossed between the workers: bytes the unique decoder really moved per decode step, and the shared server's time per step
node -e '
const D=require("better-sqlite3");const d=new D(process.argv[1],{readonly:true});
const id=d.prepare("SELECT run_id FROM runs WHERE label=? ORDER BY run_id DESC").pluck().get(process.argv[2]); if(id===undefined) process.exit(0);
for (const r of d.prepare("SELECT worker_id w, kind, count(*) n, avg(bytes) b, avg(gpu_ns) g, avg(end_ns-start_ns) t FROM kernels WHERE run_id=? GROUP BY 1,2 ORDER BY 1,2").all(id))
  console.log(`${r.w} ${r.kind}: ${r.n} rows, mean ${(r.b/2**20).toFixed(2)} MiB, gpu ${((r.g??0)/1e6).toFixed(2)} ms, wall ${(r.t/1e6).toFixed(2)} ms`);
' "$DB" "disagg-$N" 2>/dev/null

node -e '
const fs=require("fs"),p=process.argv[1];
const load=(f)=>{try{return JSON.parse(fs.readFileSync(p+"/"+f,"utf8"))}catch{return null}};
const f=(x)=>typeof x==="number"?x.toFixed(2):"-";
console.log("\n| run | done | out tok/s | TTFT p50 ms | TTFT p99 ms | TPOT p50 ms | TPOT p99 ms |\n|:--|--:|--:|--:|--:|--:|--:|");
for (const r of ["disagg","colocated"]) { const j=load(r+".json"); if(!j){console.log("| "+r+" | failed | | | | | |");continue}
  console.log(["",r,j.requests.completed+"/"+j.requests.total,f(j.throughput.outputTokensPerS),f(j.latencyMs.ttft.p50),f(j.latencyMs.ttft.p99),f(j.latencyMs.tpot.p50),f(j.latencyMs.tpot.p99),""].join(" | ").trim()) }
const a=load("disagg.tokens.json"),b=load("colocated.tokens.json");
if(a&&b){ const ids=Object.keys(b); let same=0,first=[]; for(const id of ids){ const x=a[id]??[],y=b[id]; if(JSON.stringify(x)===JSON.stringify(y)) same++; else { let i=0; while(i<y.length&&x[i]===y[i]) i++; first.push(id+"@"+i+"/"+y.length) } }
  console.log("\nself-check: "+same+"/"+ids.length+" requests generated identical token ids disaggregated and colocated"+(first.length?" (first difference, request@token/of: "+first.slice(0,8).join(", ")+")":"")) }
else console.log("\nself-check: token files missing (a run failed; see the .err files)");
' "$OUT"
