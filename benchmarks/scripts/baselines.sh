#!/usr/bin/env bash
# memalign next to DSPy's MIPROv2, GEPA and SIMBA on one served local model, every call counted
# by one proxy (benchmarks/src/memalign_bench/baselines.py). Checkpointed after every step: re-running
# resumes. Wall time of the whole run is appended to $OUT/wall_times.tsv.
#
# Defaults fit a 2-core CPU in about an hour: the local 1.5B, seed 0, shards 0 and 10, 40 test
# records, and a 10-minute budget per DSPy optimisation (an optimiser still running then is
# stopped and reported with what it had spent: a lower bound).
#   benchmarks/scripts/baselines.sh                                       # code_review_python
#   MODEL=local:0.5b SHARDS=0,10,50 TEST_LIMIT=100 BUDGET= benchmarks/scripts/baselines.sh travel_agent_reply
set -euo pipefail
DATA=${DATA:-../shared/datasets}
OUT=${OUT:-docs/benchmarks/baselines}
MODEL=${MODEL:-local}
SHARDS=${SHARDS:-0,10}
TEST_LIMIT=${TEST_LIMIT:-40}
BUDGET=${BUDGET-600}
mkdir -p "$OUT"
tag=$(printf '%s' "$MODEL" | tr -c 'A-Za-z0-9.-' '_')
for dataset in ${*:-code_review_python}; do
  start=$(date +%s)
  .venv/bin/memalign-bench baselines "$dataset" --data "$DATA" --out "$OUT" --model "$MODEL" \
    --shards "$SHARDS" --test-limit "$TEST_LIMIT" ${BUDGET:+--step-budget "$BUDGET"} \
    >"$OUT/$dataset.$tag.log" 2>&1
  printf '%s\t%s\t%s\t%s\t%s\n' "$dataset" "$MODEL" "$SHARDS" "$TEST_LIMIT" \
    "$(($(date +%s) - start))" >>"$OUT/wall_times.tsv"
done
