#!/usr/bin/env bash
# Micro-batch pipelining of the disaggregated decode (issue 15) on one H200, as one device call
# (about 5 minutes at the default N=16; the transport step is capped at 60 s and each live run at
# RUN_TIMEOUT s, default 160, so the call stays under 10 minutes):
#   bash .gpu/on-host.sh bash bench/h200-disagg-mb.sh [N]
# Runs, back to back on the same GPU and the same requests:
#  0. `moska bench transport --transports ipc` with the per-layer TPOT overhead measured with and
#     without pipelining (32 layers, 136 KiB each way per layer, 4.7 ms of layer work stood in for
#     by a worker thread busy that long: the 8B colocated run's TPOT / 32 and wire bytes / 32 of docs/disaggregated.md);
#  1. disaggregated, live.disaggregatedMicroBatches=1: coordinator + unique-0 + shared-0 (webgpu),
#     each decode layer waiting for its reply (the previous runs' deployment);
#  2. the same with live.disaggregatedMicroBatches=2: each decode step in two micro-batches of 8 on
#     separate scratch lanes, interleaved so one's query rows are on the wire while the other's
#     dense work runs, the shared worker holding both layer requests in flight;
#  3. colocated: the same requests on one decoder (`moska live scenarios/live/h200-8b.yaml`).
# Workload: a closed loop of N requests, 16 at a time, prompts uniform 256..1024, 64 output tokens
# (as bench/h200-disagg.sh: decode at batch 16; the batches equal in all three runs).
# Writes $OUT/h200-disagg-mb.tar.gz (live.db with the three runs, --json summaries, worker logs,
# token ids, transport.json, table.md) and prints last a table: done, output tok/s, TTFT p50,
# TPOT p50/p99, per-layer overhead on TPOT ((TPOT p50 − colocated's) / layers), unique-0's wait on
# shared-0, the shared worker's most requests in flight, and how many requests generated the same
# token ids as colocated.
# DISAGG_SCENARIO / COLO_SCENARIO / SETS / COLO_SETS / WORKLOAD / RUN_TIMEOUT as in
# bench/h200-disagg.sh; LAYERS (the model's, default 32), LAYER_COMPUTE_US / LAYER_BYTES for step 0. On lavapipe:
#   DISAGG_SCENARIO=scenarios/live/tiny-webgpu-disagg.yaml COLO_SCENARIO=scenarios/live/tiny-webgpu-disagg.yaml COLO_SETS=policy.disaggregated=false WORKLOAD=scenario LAYERS=2 LAYER_COMPUTE_US=500 bash bench/h200-disagg-mb.sh
set -uo pipefail
N=${1:-16}
. "$(dirname "$0")/disagg-workload.sh"
OUT=${OUT:-out/h200-disagg-mb}; F="$OUT/files"; mkdir -p "$F"; DB="$F/live.db"; rm -f "$DB" "$DB"-wal "$DB"-shm
M="node dist/cli/main.js"
PATIENT=(--lost-after-ms 120000)
T=${RUN_TIMEOUT:-160}
T0=$SECONDS
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader 2>/dev/null | head -1
[ ${#sets[@]} -gt 0 ] && echo "overrides: ${sets[*]}"
# the model's layers, for the per-layer overhead (llama-3.1-8b: 32)
LAYERS=${LAYERS:-32}

echo "== ipc transport, and the per-layer overhead with and without pipelining"
timeout 60 $M bench transport --transports ipc --sizes 16k,256k --round-trips 300 --layers "$LAYERS" --layer-bytes "${LAYER_BYTES:-136k}" \
  --layer-compute-us "${LAYER_COMPUTE_US:-4700}" --steps 10 --out "$F/transport.json" 2>&1 | grep -vE "^bench transport:"

for mb in 1 2; do
  SOCK="ipc:///tmp/moska-h200-mb$mb-$$.sock"
  echo "== disaggregated, live.disaggregatedMicroBatches=$mb ($((SECONDS - T0)) s in)"
  timeout "$T" $M live "$DSC" "${sets[@]}" --set "live.disaggregatedMicroBatches=$mb" --bind "$SOCK" --links real --workers-timeout-s 150 "${PATIENT[@]}" \
    --label "disagg-mb$mb-$N" --db "$DB" --json > "$F/disagg-mb$mb.json" 2> "$F/coordinator-mb$mb.err" &
  C=$!
  timeout "$T" $M worker --role unique --connect "$SOCK" --executor webgpu "${PATIENT[@]}" --tokens-out "$F/disagg-mb$mb.tokens.json" 2> "$F/unique-mb$mb.err" &
  U=$!
  timeout "$T" $M worker --role shared --connect "$SOCK" --executor webgpu "${PATIENT[@]}" 2> "$F/shared-mb$mb.err" &
  S=$!
  wait $C; rc=$?; wait $U; ru=$?; wait $S; rs=$?
  echo "coordinator rc=$rc unique rc=$ru shared rc=$rs"
  grep -hv "^Warning" "$F/coordinator-mb$mb.err" "$F/unique-mb$mb.err" "$F/shared-mb$mb.err" | grep -E "ready|lost|Error|error| ran | answered " | head -8
done

echo "== colocated: the same requests on one decoder ($((SECONDS - T0)) s in)"
timeout "$T" $M live "$CSC" "${sets[@]}" "${colo[@]}" --tokens-out "$F/colocated.tokens.json" \
  --label "colocated-$N" --db "$DB" --json > "$F/colocated.json" 2> "$F/colocated.err"
echo "colocated rc=$?"; grep -v "^Warning" "$F/colocated.err" | tail -3

node -e '
const fs=require("fs"),[p,N,LAYERS]=process.argv.slice(1);
const load=(f)=>{try{return JSON.parse(fs.readFileSync(p+"/"+f,"utf8"))}catch{return null}};
const text=(f)=>{try{return fs.readFileSync(p+"/"+f,"utf8")}catch{return ""}};
const f=(x,k=2)=>typeof x==="number"&&Number.isFinite(x)?x.toFixed(k):"-";
const D=require("better-sqlite3");let d=null;try{d=new D(p+"/live.db",{readonly:true})}catch{}
const wire=(label)=>{ if(d===null) return "-"; const id=d.prepare("SELECT run_id FROM runs WHERE label=? ORDER BY run_id DESC").pluck().get(label); if(id===undefined) return "-";
  const b=d.prepare("SELECT sum(bytes) FROM kernels WHERE run_id=? AND worker_id LIKE ?").pluck().get(id,"link-%"); const n=d.prepare("SELECT count(*) FROM kernels WHERE run_id=? AND kind=?").pluck().get(id,"unique.iteration");
  return b===null||n===0?"0":(b/n/1024).toFixed(1) };
const colo=load("colocated.json"); const coloTpot=colo&&colo.latencyMs?colo.latencyMs.tpot.p50:NaN;
const ref=load("colocated.tokens.json");
const same=(file)=>{const a=load(file); if(!a||!ref) return "-"; const ids=Object.keys(ref); return ids.filter((id)=>JSON.stringify(a[id]??[])===JSON.stringify(ref[id])).length+"/"+ids.length};
const L=["| run | done | out tok/s | TTFT p50 ms | TPOT p50 ms | TPOT p99 ms | overhead / layer ms | unique-0 waited s | shared in flight | wire KiB / decode step | same tokens as colocated |","|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"];
for (const [r,label,tok,mb] of [["disagg, 1 micro-batch","disagg-mb1-"+N,"disagg-mb1.tokens.json","1"],["disagg, 2 micro-batches","disagg-mb2-"+N,"disagg-mb2.tokens.json","2"],["colocated","colocated-"+N,null,null]]) {
  const j=load(mb===null?"colocated.json":"disagg-mb"+mb+".json"); if(!j||!j.requests){L.push("| "+r+" | failed | | | | | | | | | |");continue}
  const tp=j.latencyMs.tpot.p50;
  const waited=mb===null?"-":((/waited on shared-\d+ ([\d.]+) s/.exec(text("unique-mb"+mb+".err"))||[])[1]??"-");
  const inflight=mb===null?"-":((/at most (\d+) in flight/.exec(text("shared-mb"+mb+".err"))||[])[1]??"-");
  L.push("| "+[r,j.requests.completed+"/"+j.requests.total,f(j.throughput.outputTokensPerS),f(j.latencyMs.ttft.p50,1),f(tp,1),f(j.latencyMs.tpot.p99,1),mb===null?"-":f((tp-coloTpot)/Number(LAYERS),2),waited,inflight,mb===null?"0":wire(label),tok===null?"-":same(tok)].join(" | ")+" |") }
const t=load("transport.json"); const pl=t&&t.pipelining?t.pipelining[0]:null;
if(pl) L.push("","bench transport (ipc, "+pl.layers+" layers, "+(pl.layerBytes/1024)+" KiB each way per layer, "+pl.layerComputeUs+" µs layer work on a stand-in device queue): step "+f(pl.computeOnlyMs)+" ms compute only, "+f(pl.sequentialMs)+" ms sequential, "+f(pl.pipelinedMs)+" ms with 2 micro-batches; overhead per layer "+f(pl.overheadPerLayerUs.sequential,1)+" vs "+f(pl.overheadPerLayerUs.pipelined,1)+" µs");
console.log("\n"+L.join("\n")); fs.writeFileSync(p+"/table.md",L.join("\n")+"\n");
' "$F" "$N" "$LAYERS"
tar czf "$OUT/h200-disagg-mb.tar.gz" -C "$F" . && rm -rf "$F" && echo "wrote $OUT/h200-disagg-mb.tar.gz ($((SECONDS - T0)) s)"
