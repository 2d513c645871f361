#!/usr/bin/env bash
# The reliability suite at full counts (CI runs the same tests with reduced counts):
# 100 SIGKILL trials, 2 × 100 concurrent writer operations, 10,000 hostile model outputs, the
# 43 malformed files, provider faults and the red-team fixtures on the fake model.
# Prints pytest's summary and the crash outcomes; see docs/reliability.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
MEMALIGN_STRESS=1 .venv/bin/pytest tests/reliability -q -s "$@"
