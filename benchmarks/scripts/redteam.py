"""Prompt injection and memory poisoning on the red-team fixtures, with any model.

    .venv/bin/python benchmarks/scripts/redteam.py --model fake  --out docs/benchmarks/redteam
    .venv/bin/python benchmarks/scripts/redteam.py --model local --out docs/benchmarks/redteam \
        [--parts poison]

What is measured and how is described in tests/reliability/redteam.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.reliability.redteam import measure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fake")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks/redteam"))
    parser.add_argument(
        "--parts",
        default="flips,poison",
        help="flips, poison or both; a part run alone updates that part of an existing result file",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    name = args.model.replace("/", "_").replace(":", "_")
    path = args.out / f"{name}.json"
    result = json.loads(path.read_text()) if path.exists() else {}
    result.update(measure(args.model, tuple(args.parts.split(","))))
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False))
    print(json.dumps({k: v for k, v in result.items() if k != "guidelines"}, indent=1))


if __name__ == "__main__":
    main()
