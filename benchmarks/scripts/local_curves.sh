#!/usr/bin/env bash
# Learning curves on the local models for the published comparison, one run after another, each
# checkpointed after every shard (re-running resumes; a lost store is rebuilt by re-aligning).
# A reduced protocol that fits a 2-core CPU: one seed, shards 0/10/50, 100 test records, seen
# quality on <= 20 records, retrieved examples shown up to 600 characters; every decision rule
# is scored on the same judge calls. Wall times are appended to $OUT/wall_times.tsv.
#
#   benchmarks/scripts/local_curves.sh                      # the default condition on every dataset
#   MODE=ablations benchmarks/scripts/local_curves.sh       # memory and signal ablations, 0.5B vs 1.5B
# (ablations go to their own folder, each next to a base run on the same code and shards, judged
# first; an ablation reuses the base run's unaligned shard-0 scores rather than judging them again,
# and scores shards 0 and 50 only unless SHARDS says otherwise: each condition is then about an
# hour here instead of two; `memalign-bench ablations DATASET --out "$OUT"` lines the conditions up
# with the base run on the same test records: $OUT/DATASET__ablations.*)
set -euo pipefail
DATA=${DATA:-../shared/datasets}
MODEL=${MODEL:-local}
MODE=${MODE:-curves}
if [ "$MODE" = curves ]; then
  OUT=${OUT:-docs/benchmarks/local-1.5b}
  SHARDS=${SHARDS:-0,10,50}
else
  OUT=${OUT:-docs/benchmarks/local-1.5b/ablations}
  SHARDS=${SHARDS:-0,50}
fi
DATASETS=${*:-code_review_python financebench marketing_email_compliance autoj travel_agent_reply pairwise_summary_preference}
mkdir -p "$OUT"

run() {  # dataset model extra-args...
  local dataset=$1 model=$2 start tag
  shift 2
  start=$(date +%s)
  tag=$(printf '%s' "$model $*" | tr -c 'A-Za-z0-9.:-' '_')
  .venv/bin/memalign-bench curves "$dataset" --data "$DATA" --out "$OUT" --model "$model" --seeds 0 \
    --shards "$SHARDS" --test-limit 100 --seen-limit 20 --example-chars 600 --json "$@" \
    >"$OUT/$dataset.$tag.log" 2>&1
  printf '%s\t%s\t%s\t%s\n' "$dataset" "$model" "$*" "$(($(date +%s) - start))" >>"$OUT/wall_times.tsv"
}

for dataset in $DATASETS; do
  if [ "$MODE" = curves ]; then
    run "$dataset" "$MODEL"
  else
    run "$dataset" "$MODEL"  # the base run (both memories, both signals); resumes if done
    for memory in episodic semantic; do run "$dataset" "$MODEL" --memory "$memory"; done
    run "$dataset" local:0.5b
    for signal in label feedback; do run "$dataset" "$MODEL" --signal "$signal"; done
    # Every condition next to the base run, on the same test records: report and plot.
    .venv/bin/memalign-bench ablations "$dataset" --out "$OUT" --model "$MODEL" >/dev/null
  fi
done
