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
    (
        "0002_example_keys_and_log",
        # Examples get a stable integer key (never reused, unchanged by VACUUM) for the vector
        # index, and every insert, delete or new vector is logged by key in the same
        # transaction, so an index catches up with the changes since it was saved instead of
        # being rebuilt. The log holds keys only: nothing of a forgotten record's content.
        """
        CREATE TABLE examples_v2 (
            example_key INTEGER PRIMARY KEY AUTOINCREMENT,
            judge_id INTEGER NOT NULL,
            record_id TEXT NOT NULL,
            example_json TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL,
            UNIQUE (judge_id, record_id),
            FOREIGN KEY (judge_id, record_id)
                REFERENCES records(judge_id, record_id) ON DELETE CASCADE
        );
        INSERT INTO examples_v2 (judge_id, record_id, example_json, dim, vector)
            SELECT judge_id, record_id, example_json, dim, vector FROM examples
            ORDER BY judge_id, record_id;
        DROP TABLE examples;
        ALTER TABLE examples_v2 RENAME TO examples;
        CREATE TABLE example_log (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            judge_id INTEGER NOT NULL,
            example_key INTEGER NOT NULL,
            added INTEGER NOT NULL
        );
        CREATE INDEX example_log_by_judge ON example_log (judge_id, seq);
        CREATE TRIGGER example_added AFTER INSERT ON examples BEGIN
            INSERT INTO example_log (judge_id, example_key, added)
            VALUES (new.judge_id, new.example_key, 1);
        END;
        CREATE TRIGGER example_removed AFTER DELETE ON examples BEGIN
            INSERT INTO example_log (judge_id, example_key, added)
            VALUES (old.judge_id, old.example_key, 0);
        END;
        CREATE TRIGGER example_revectored AFTER UPDATE OF vector ON examples
        WHEN old.vector IS NOT new.vector BEGIN
            INSERT INTO example_log (judge_id, example_key, added)
            VALUES (new.judge_id, new.example_key, 1);
        END;
        """,
    ),
)
