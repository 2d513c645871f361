"""``python -m memalign``: the CLI."""

from memalign.cli import main

main()
