#!/usr/bin/env bash
# Proves a refactor left sim unchanged: builds two revisions in temporary worktrees, runs 15 reference
# scenarios with each (every system, trace levels, exact routing, window batcher, layer granularity,
# replicas, Mooncake trace routing, Azure) and compares the --json summaries (runId and wallS aside)
# and the requests, kernels and tokens rows. Columns added later (kernel gpu_ns / predicted_ns, NULL in
# sim) are dropped before comparing. Prints one line per difference and "identical" when there is none.
#   bench/sim-rows-identical.sh 49eafce HEAD
#   bench/sim-rows-identical.sh HEAD WORKTREE   # uncommitted changes: WORKTREE builds the working tree as it is
set -euo pipefail
A=${1:?usage: bench/sim-rows-identical.sh REV_A REV_B}; B=${2:-HEAD}
root=$(git rev-parse --show-toplevel); tmp=$(mktemp -d)
cases=(
  "sim scenarios/default.yaml"
  "sim test/golden/small.yaml"
  "sim scenarios/compare/private.yaml" "sim scenarios/compare/prefix.yaml" "sim scenarios/compare/cascade.yaml" "sim scenarios/compare/moska.yaml"
  "sim scenarios/default.yaml --set trace=tokens --set workload.requests=60"
  "sim scenarios/default.yaml --set policy.routingMode=exact --set workload.requests=50"
  "sim scenarios/default.yaml --set policy.batcher={kind: window, windowNs: 200000, maxRows: 64} --set workload.requests=80"
  "sim scenarios/default.yaml --set policy.granularity=layer --set workload.requests=30"
  "sim scenarios/default.yaml --set hardware.unique={gpu: H200, count: 3} --set workload.requests=120"
  "replay data/traces/mooncake_conversation_trace.jsonl --sim --set corpus.routing={kind: trace} --set workload.limit=400"
  "replay data/traces/mooncake_conversation_trace.jsonl --sim --set corpus.routing={kind: trace} --set workload.limit=200 --set hardware.unique={gpu: H200, count: 2} --set policy.batcher={kind: window, windowNs: 100000, maxRows: 128}"
  "sim scenarios/azure-replay.yaml --set workload.limit=300"
  "sim scenarios/default.yaml --set policy.routingMode=exact --set policy.batcher={kind: window, windowNs: 100000, maxRows: 32} --set workload.requests=40 --set hardware.unique={gpu: H200, count: 2}"
)
dump='const D=require(process.argv[1]);const db=new D(process.argv[2],{readonly:true});
for (const t of ["requests","kernels","tokens"]) { const keep = db.prepare(`PRAGMA table_info(${t})`).all().map(c=>c.name).filter(n=>n!=="gpu_ns"&&n!=="predicted_ns");
  for (const r of db.prepare(`SELECT ${keep.join(",")} FROM ${t} ORDER BY 1,2,3`).raw().iterate()) console.log(t, JSON.stringify(r)) }'
run_rev() {
  local rev=$1 out=$2 wt="$tmp/wt-$1"
  if [ "$rev" = WORKTREE ]; then
    # the working tree compiled into a scratch folder that links what the CLI reads at run time
    mkdir -p "$wt"; for d in db data scenarios test node_modules package.json; do ln -s "$root/$d" "$wt/$d"; done
    (cd "$root" && npx tsc -p tsconfig.build.json --outDir "$wt/dist")
  else
    git -C "$root" worktree add -q --detach "$wt" "$rev"
    ln -s "$root/node_modules" "$wt/node_modules"
    (cd "$wt" && npx tsc -p tsconfig.build.json)
  fi
  mkdir -p "$out"; local i=0
  for c in "${cases[@]}"; do
    i=$((i+1)); read -r -a words <<< "${c%% --set*}"; sets=()
    rest=${c#"${c%% --set*}"}; while [[ $rest == " --set "* ]]; do rest=${rest#" --set "}; v=${rest%% --set *}; sets+=(--set "$v"); rest=${rest#"$v"}; done
    (cd "$wt" && node dist/cli/main.js "${words[@]}" "${sets[@]}" --db "$out/$i.db" --json) | sed -E 's/"(runId|wallS)":[^,}]*,?//g' > "$out/$i.json"
    node -e "$dump" "$root/node_modules/better-sqlite3" "$out/$i.db" > "$out/$i.rows"
    # a case that failed in both builds would compare equal: require a summary and rows
    grep -q '"requests"' "$out/$i.json" && [ -s "$out/$i.rows" ] || { echo "case $i produced no summary or rows at $rev: $c" >&2; exit 1; }
  done
  if [ "$rev" = WORKTREE ]; then rm -rf "$wt"; else git -C "$root" worktree remove --force "$wt"; fi
}
run_rev "$A" "$tmp/a"; run_rev "$B" "$tmp/b"
diffs=0
for f in "$tmp"/a/*.json "$tmp"/a/*.rows; do cmp -s "$f" "$tmp/b/$(basename "$f")" || { echo "differs: case $(basename "$f")"; diffs=$((diffs+1)); }; done
rows=$(cat "$tmp"/b/*.rows | wc -l)
[ $diffs -eq 0 ] && echo "identical: ${#cases[@]} scenarios, summaries and $rows requests/kernels/tokens rows ($A vs $B)"
rm -rf "$tmp"; git -C "$root" worktree prune
