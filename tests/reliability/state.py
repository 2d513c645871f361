"""What a store's memory is, read straight from the SQLite file, for before/after comparisons.
Random ids (guidelines) and timestamps are left out: two runs of the same align agree on the
rest."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

# Full counts when MEMALIGN_STRESS is set (benchmarks/scripts/reliability.sh); reduced counts in CI.
STRESS = bool(os.environ.get("MEMALIGN_STRESS"))


def count(reduced: int, full: int) -> int:
    return full if STRESS else reduced


def integrity_ok(path: Path) -> bool:
    db = sqlite3.connect(path)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        db.close()


def memory(path: Path) -> dict[str, Any]:
    db = sqlite3.connect(path)
    try:
        version = db.execute("SELECT memory_version FROM judges").fetchall()
        records = sorted(db.execute("SELECT record_id, content_hash FROM records").fetchall())
        examples = sorted(
            (rid, dim, len(vector))
            for rid, dim, vector in db.execute("SELECT record_id, dim, vector FROM examples")
        )
        guidelines = sorted(
            (
                json.loads(raw)["text"],
                tuple(
                    sorted(
                        r
                        for (r,) in db.execute(
                            "SELECT record_id FROM guideline_sources WHERE guideline_id = ?",
                            (gid,),
                        )
                    )
                ),
            )
            for gid, raw in db.execute("SELECT guideline_id, guideline_json FROM guidelines")
        )
        history = [
            row[0] for row in db.execute("SELECT operation FROM memory_versions ORDER BY version")
        ]
        return {
            "versions": version,
            "records": records,
            "examples": examples,
            "guidelines": guidelines,
            "history": history,
        }
    finally:
        db.close()


def consistent(path: Path) -> list[str]:
    """Invariants that must hold in any committed state."""
    db = sqlite3.connect(path)
    problems = []
    try:
        orphans = db.execute(
            "SELECT COUNT(*) FROM examples e WHERE NOT EXISTS (SELECT 1 FROM records r "
            "WHERE r.judge_id = e.judge_id AND r.record_id = e.record_id)"
        ).fetchone()[0]
        if orphans:
            problems.append(f"{orphans} examples without a record")
        bad_vectors = db.execute(
            "SELECT COUNT(*) FROM examples WHERE vector IS NULL OR length(vector) != dim * 4"
        ).fetchone()[0]
        if bad_vectors:
            problems.append(f"{bad_vectors} examples without a whole vector")
        for raw, gid in db.execute("SELECT guideline_json, guideline_id FROM guidelines"):
            origin = json.loads(raw).get("origin")
            sources = db.execute(
                "SELECT COUNT(*) FROM guideline_sources WHERE guideline_id = ?", (gid,)
            ).fetchone()[0]
            if origin == "distilled" and sources == 0:
                problems.append(f"guideline {gid} without sources")
        versions = [
            v for (v,) in db.execute("SELECT version FROM memory_versions ORDER BY version")
        ]
        (current,) = db.execute("SELECT MAX(memory_version) FROM judges").fetchone()
        if versions != list(range(1, len(versions) + 1)) or (versions and versions[-1] != current):
            problems.append(f"version history {versions} does not end at {current}")
    finally:
        db.close()
    return problems
