"""Ordered, named schema migrations. Applied ones are recorded in ``schema_migrations``;
a migration is never edited once released: add a new one instead."""

from __future__ import annotations

MIGRATIONS: tuple[tuple[str, str], ...] = (
    (
        "0001_initial",
        """
        CREATE TABLE judges (
            judge_id INTEGER PRIMARY KEY,
            tenant TEXT NOT NULL,
            name TEXT NOT NULL,
            spec_json TEXT NOT NULL,
            memory_version INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            UNIQUE (tenant, name)
        );
        CREATE TABLE records (
            judge_id INTEGER NOT NULL REFERENCES judges(judge_id) ON DELETE CASCADE,
            record_id TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            payload_json TEXT NOT NULL,
            annotator TEXT,
            created_at TEXT NOT NULL,
            PRIMARY KEY (judge_id, record_id)
        );
        CREATE INDEX records_by_annotator ON records (judge_id, annotator);
        CREATE INDEX records_by_time ON records (judge_id, created_at);
        CREATE TABLE examples (
            judge_id INTEGER NOT NULL,
            record_id TEXT NOT NULL,
            example_json TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL,
            PRIMARY KEY (judge_id, record_id),
            FOREIGN KEY (judge_id, record_id)
                REFERENCES records(judge_id, record_id) ON DELETE CASCADE
        );
        CREATE TABLE guidelines (
            judge_id INTEGER NOT NULL REFERENCES judges(judge_id) ON DELETE CASCADE,
            guideline_id TEXT NOT NULL,
            guideline_json TEXT NOT NULL,
            dim INTEGER,
            vector BLOB,
            PRIMARY KEY (judge_id, guideline_id)
        );
        CREATE TABLE guideline_sources (
            judge_id INTEGER NOT NULL,
            guideline_id TEXT NOT NULL,
            record_id TEXT NOT NULL,
            PRIMARY KEY (judge_id, guideline_id, record_id),
            FOREIGN KEY (judge_id, guideline_id)
                REFERENCES guidelines(judge_id, guideline_id) ON DELETE CASCADE,
            FOREIGN KEY (judge_id, record_id)
                REFERENCES records(judge_id, record_id) ON DELETE CASCADE
        );
        CREATE INDEX sources_by_record ON guideline_sources (judge_id, record_id);
        CREATE TABLE memory_versions (
            judge_id INTEGER NOT NULL REFERENCES judges(judge_id) ON DELETE CASCADE,
            version INTEGER NOT NULL,
            operation TEXT NOT NULL,
            created_at TEXT NOT NULL,
            summary_json TEXT NOT NULL,
            PRIMARY KEY (judge_id, version)
        );
        CREATE TABLE verdict_cache (
            judge_id INTEGER NOT NULL REFERENCES judges(judge_id) ON DELETE CASCADE,
            memory_version INTEGER NOT NULL,
            case_hash TEXT NOT NULL,
            verdict_json TEXT NOT NULL,
            PRIMARY KEY (judge_id, memory_version, case_hash)
        );
        """,
    ),
)
