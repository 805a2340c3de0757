# Sourced by bench/h200-disagg.sh and bench/h200-disagg-mb.sh (set N first): the scenarios of the disaggregated and
# colocated runs and the --set overrides both scripts give them. DISAGG_SCENARIO / COLO_SCENARIO pick the scenarios;
# WORKLOAD: unset = a closed loop of N requests, 16 at a time, prompts uniform 256..1024, 64 output tokens; `trace` =
# the scenario's trace, first N requests; `scenario` = the scenario's own workload; anything else = the workload as
# YAML. SETS (space-separated) adds --set overrides to every run, COLO_SETS to the colocated runs only.
DSC=${DISAGG_SCENARIO:-scenarios/live/h200-8b-disagg.yaml}; CSC=${COLO_SCENARIO:-scenarios/live/h200-8b.yaml}
WL=${WORKLOAD:-"{kind: closed, concurrency: 16, requests: $N, uniqueTokens: {kind: uniform, min: 256, max: 1024}, outputTokens: {kind: fixed, value: 64}}"}
sets=()
case "$WL" in
  trace) sets+=(--set "workload.limit=$N") ;;
  scenario) ;;
  *) sets+=(--set "workload=$WL") ;;
esac
for e in ${SETS:-}; do sets+=(--set "$e"); done
colo=(); for e in ${COLO_SETS:-}; do colo+=(--set "$e"); done
