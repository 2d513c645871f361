#!/usr/bin/env bash
# Learning curves on the local 1.5B model for every dataset the published comparison needs, one
# after another, each checkpointed after every shard (re-running resumes). A reduced protocol that
# fits a 2-core CPU: one seed, shards 0/10/50, 100 test records, seen quality on <= 20 records,
# retrieved examples shown up to 600 characters. Wall times are appended to $OUT/wall_times.tsv.
set -euo pipefail
DATA=${DATA:-../shared/datasets}
OUT=${OUT:-docs/benchmarks/local-1.5b}
MODEL=${MODEL:-local}
DATASETS=${*:-code_review_python financebench marketing_email_compliance autoj travel_agent_reply pairwise_summary_preference}
mkdir -p "$OUT"
for dataset in $DATASETS; do
  start=$(date +%s)
  .venv/bin/memalign bench "$dataset" --data "$DATA" --out "$OUT" --model "$MODEL" --seeds 0 \
    --shards 0,10,50 --test-limit 100 --seen-limit 20 --example-chars 600 --json \
    >"$OUT/$dataset.log" 2>&1
  printf '%s\t%s\t%s\n' "$dataset" "$MODEL" "$(($(date +%s) - start))" >>"$OUT/wall_times.tsv"
done
