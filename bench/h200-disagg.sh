#!/usr/bin/env bash
# Disaggregated vs colocated live MoSKA on one H200 (issue 15), with the sim's prediction beside
# each, as one device call (about 5 minutes at the default N=32; budget 9.5):
#   bash .gpu/on-host.sh bash bench/h200-disagg.sh [N]
# Runs, back to back on the same GPU:
#  0. `moska bench transport --transports ipc` (a few seconds): the ipc latency + bandwidth fit,
#     which prices the sim's link (hardware.interconnect.latencyNs / bandwidthBps);
#  1. disaggregated: `moska live scenarios/live/h200-8b-disagg.yaml --bind ipc://… --links real`
#     (the coordinator) and two `moska worker --executor webgpu` processes: unique-0 (decoder, each
#     request's KV, and a replica of the corpus K/V that prefill attends: live.disaggregatedPrefill
#     local) and shared-0 (the 64K-token corpus, attending every decode step's routed rows), each
#     decode layer's query rows and partials crossing between the two worker processes in f16
#     (live.disaggregatedWire);
#  2. colocated: the same requests on one decoder (`moska live scenarios/live/h200-8b.yaml`);
#  3. `moska sim` of both scenarios with the same workload (H200-webgpu device, cycle cost model;
#     the disaggregated one's link from step 0).
# Workload (WORKLOAD): default a closed loop of N requests, 16 at a time (the decoder's slots),
# prompts uniform 256..1024 tokens, 64 output tokens each: decode steps at batch 16 are where the
# link matters, and a closed loop makes the batches, so the shared attention's key splits, the
# same in both runs (the token self-check then tests the remote layers, not batching). The Azure
# code trace's prompts (~2.7K tokens, ~14 output tokens) make both runs prefill-bound:
# WORKLOAD=trace replays its first N requests at their arrival times instead; WORKLOAD=scenario
# keeps the scenario's own; any other value is the workload as YAML.
# Writes, under $OUT (default out/h200-disagg), one file h200-disagg.tar.gz holding live.db (all
# four runs), the --json summaries, *.err logs, *.tokens.json (token ids per request),
# transport.json and table.md. Prints both runs' `moska query summary`, per-kind kernel rows, and
# a table: output tok/s, TTFT and TPOT p50/p99, wire bytes per decode step, live vs sim, and the
# self-check: how many requests generated the same token ids in both runs (the f16 wire rounds
# the query rows and partial outputs: an occasional late greedy flip between the two is that
# rounding, while a wrong remote layer changes nearly every request's tokens from the first one).
# DISAGG_SCENARIO / COLO_SCENARIO / SETS (space-separated extra --set overrides for all runs) /
# COLO_SETS (the colocated runs' extra ones) / RUN_TIMEOUT (s per live run, default 200) rerun it
# elsewhere, e.g. on lavapipe:
#   DISAGG_SCENARIO=scenarios/live/tiny-webgpu-disagg.yaml COLO_SCENARIO=scenarios/live/tiny-webgpu-disagg.yaml COLO_SETS=policy.disaggregated=false WORKLOAD=scenario bash bench/h200-disagg.sh
set -uo pipefail
N=${1:-32}
. "$(dirname "$0")/disagg-workload.sh"
OUT=${OUT:-out/h200-disagg}; F="$OUT/files"; mkdir -p "$F"; DB="$F/live.db"; rm -f "$DB" "$DB"-wal "$DB"-shm
M="node dist/cli/main.js"
SOCK="ipc:///tmp/moska-h200-disagg-$$.sock"
# Pipeline compiles can hold a process's event loop for a while: nobody counts as lost meanwhile.
PATIENT=(--lost-after-ms 120000)
T=${RUN_TIMEOUT:-200}
T0=$SECONDS
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader 2>/dev/null | head -1
[ ${#sets[@]} -gt 0 ] && echo "overrides: ${sets[*]}"

echo "== ipc transport fit (for the sim's link)"
timeout 60 $M bench transport --transports ipc --sizes 16k,256k,1m --round-trips 500 --out "$F/transport.json" 2>&1 | grep -E "^ipc|fit" | tail -4
LINK=$(node -e 'try{const f=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).fits.find(x=>x.transport==="ipc");console.log(Math.round(f.latencyNs)+" "+f.bandwidthBps)}catch{}' "$F/transport.json")
simlink=(); [ -n "$LINK" ] && simlink=(--set "hardware.interconnect.latencyNs=${LINK% *}" --set "hardware.interconnect.bandwidthBps=${LINK#* }")

echo "== disaggregated: coordinator + unique-0 + shared-0 on $SOCK ($((SECONDS - T0)) s in)"
timeout "$T" $M live "$DSC" "${sets[@]}" --bind "$SOCK" --links real --workers-timeout-s 150 "${PATIENT[@]}" \
  --label "disagg-$N" --db "$DB" --json > "$F/disagg.json" 2> "$F/coordinator.err" &
C=$!
timeout "$T" $M worker --role unique --connect "$SOCK" --executor webgpu "${PATIENT[@]}" --tokens-out "$F/disagg.tokens.json" 2> "$F/unique.err" &
U=$!
timeout "$T" $M worker --role shared --connect "$SOCK" --executor webgpu "${PATIENT[@]}" 2> "$F/shared.err" &
S=$!
wait $C; rc=$?; wait $U; ru=$?; wait $S; rs=$?
echo "coordinator rc=$rc unique rc=$ru shared rc=$rs"
grep -hv "^Warning" "$F/coordinator.err" "$F/unique.err" "$F/shared.err" | grep -E "ready|joined|lost|moska:|Error|error| ran | answered " | head -20

echo "== colocated: the same requests on one decoder ($((SECONDS - T0)) s in)"
timeout "$T" $M live "$CSC" "${sets[@]}" "${colo[@]}" --tokens-out "$F/colocated.tokens.json" \
  --label "colocated-$N" --db "$DB" --json > "$F/colocated.json" 2> "$F/colocated.err"
echo "colocated rc=$?"; grep -v "^Warning" "$F/colocated.err" | tail -3

echo "== sim of both ($((SECONDS - T0)) s in; sim link: ${LINK:-as in the scenario})"
timeout 45 $M sim "$DSC" "${sets[@]}" "${simlink[@]}" --label "sim-disagg-$N" --db "$DB" --json > "$F/sim-disagg.json" 2> "$F/sim-disagg.err"; echo "sim disagg rc=$?"
timeout 45 $M sim "$CSC" "${sets[@]}" "${colo[@]}" --label "sim-colocated-$N" --db "$DB" --json > "$F/sim-colocated.json" 2> "$F/sim-colocated.err"; echo "sim colocated rc=$?"

for label in "disagg-$N" "colocated-$N"; do
  id=$(node -e "const D=require('better-sqlite3');const r=new D(process.argv[1],{readonly:true}).prepare('SELECT run_id FROM runs WHERE label=? ORDER BY run_id DESC').pluck().get(process.argv[2]);console.log(r??'')" "$DB" "$label" 2>/dev/null)
  [ -n "$id" ] && { echo "== moska query summary: $label (run $id)"; $M query summary --db "$DB" --run "$id"; }
done

# kernel rows per worker and kind (live disaggregated run), then the table
node -e '
const D=require("better-sqlite3");const d=new D(process.argv[1],{readonly:true});
const id=d.prepare("SELECT run_id FROM runs WHERE label=? ORDER BY run_id DESC").pluck().get(process.argv[2]); if(id===undefined) process.exit(0);
for (const r of d.prepare("SELECT worker_id w, kind, count(*) n, avg(bytes) b, avg(gpu_ns) g, avg(end_ns-start_ns) t FROM kernels WHERE run_id=? GROUP BY 1,2 ORDER BY 1,2").all(id))
  console.log(`${r.w} ${r.kind}: ${r.n} rows, mean ${(r.b/2**20).toFixed(3)} MiB, gpu ${((r.g??0)/1e6).toFixed(2)} ms, wall ${(r.t/1e6).toFixed(2)} ms`);
' "$DB" "disagg-$N" 2>/dev/null

node -e '
const fs=require("fs"),[p,N]=process.argv.slice(1);
const D=require("better-sqlite3");let d=null;try{d=new D(p+"/live.db",{readonly:true})}catch{}
const load=(f)=>{try{return JSON.parse(fs.readFileSync(p+"/"+f,"utf8"))}catch{return null}};
const f=(x,k=2)=>typeof x==="number"?x.toFixed(k):"-";
// bytes that crossed the link per decode step: all link rows of the run over its decode steps (unique.iteration rows; prefill moves none with live.disaggregatedPrefill local)
const wire=(label)=>{ if(d===null) return "-"; const id=d.prepare("SELECT run_id FROM runs WHERE label=? ORDER BY run_id DESC").pluck().get(label); if(id===undefined) return "-";
  const b=d.prepare("SELECT sum(bytes) FROM kernels WHERE run_id=? AND worker_id LIKE ?").pluck().get(id,"link-%"); const n=d.prepare("SELECT count(*) FROM kernels WHERE run_id=? AND kind=?").pluck().get(id,"unique.iteration");
  return b===null||n===0?"0":(b/n/1024).toFixed(1) };
const L=["| run | done | out tok/s | TTFT p50 ms | TTFT p99 ms | TPOT p50 ms | TPOT p99 ms | wire KiB / decode step |","|:--|--:|--:|--:|--:|--:|--:|--:|"];
for (const [r,label] of [["disagg","disagg-"+N],["sim-disagg","sim-disagg-"+N],["colocated","colocated-"+N],["sim-colocated","sim-colocated-"+N]]) { const j=load(r+".json"); if(!j||!j.requests){L.push("| "+r+" | failed | | | | | | |");continue}
  L.push("| "+[r,j.requests.completed+"/"+j.requests.total,f(j.throughput.outputTokensPerS),f(j.latencyMs.ttft.p50,1),f(j.latencyMs.ttft.p99,1),f(j.latencyMs.tpot.p50,1),f(j.latencyMs.tpot.p99,1),wire(label)].join(" | ")+" |") }
const a=load("disagg.tokens.json"),b=load("colocated.tokens.json");
if(a&&b){ const ids=Object.keys(b); let same=0,first=[]; for(const id of ids){ const x=a[id]??[],y=b[id]; if(JSON.stringify(x)===JSON.stringify(y)) same++; else { let i=0; while(i<y.length&&x[i]===y[i]) i++; first.push(id+"@"+i+"/"+y.length) } }
  L.push("","self-check: "+same+"/"+ids.length+" requests generated identical token ids disaggregated and colocated"+(first.length?" (first difference, request@token/of: "+first.slice(0,8).join(", ")+")":"")) }
else L.push("","self-check: token files missing (a run failed; see the .err files)");
const t=load("transport.json"); const fit=t&&t.fits?t.fits.find(x=>x.transport==="ipc"):null; if(fit) L.push("sim link (ipc fit): latency "+Math.round(fit.latencyNs)+" ns, bandwidth "+(fit.bandwidthBps/1e9).toFixed(2)+" GB/s");
console.log("\n"+L.join("\n")); fs.writeFileSync(p+"/table.md",L.join("\n")+"\n");
' "$F" "$N"
tar czf "$OUT/h200-disagg.tar.gz" -C "$F" . && rm -rf "$F" && echo "wrote $OUT/h200-disagg.tar.gz ($((SECONDS - T0)) s)"
