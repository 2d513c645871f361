"""Files in and out: feedback and cases from JSONL or CSV (every error located by file, line
and field), and a judge's whole memory exported and imported as JSONL."""

from memalign.io.feedback import read_records
from memalign.io.transfer import export_judge, import_judge

__all__ = ["export_judge", "import_judge", "read_records"]
