"""One writer process for the concurrency test: ``python -m tests.reliability.writer STORE ROLE N``.
Role "a" aligns two new records per operation; role "b" alternates aligning one record and
forgetting it. Prints the memory version each operation produced, as JSON."""

from __future__ import annotations

import json
import sys

from memalign import Feedback, Judge, open_store
from memalign.testing import FakeLLM, HashEmbedder


def main(path: str, role: str, n: int) -> None:
    store = open_store(path)
    judge = Judge.load(store, "shared", llm=FakeLLM(), embedder=HashEmbedder())
    versions = []
    for i in range(n):
        if role == "a":
            batch = [
                Feedback(
                    id=f"a{i}-{j}",
                    inputs=f"question {i}",
                    outputs=f"reply {j}",
                    label="Pass" if j else "Fail",
                    feedback=f"Rule {i % 5} applies.",
                )
                for j in range(2)
            ]
            versions.append(judge.align(batch).memory_version)
        elif i % 2 == 0:
            record = Feedback(id=f"b{i}", inputs=f"other {i}", outputs="x", label="Fail")
            versions.append(judge.align([record]).memory_version)
        else:
            versions.append(judge.forget([f"b{i - 1}"]).memory_version)
    print(json.dumps(versions))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
