"""Dataset options shared by ``profile`` and ``export --dataset``."""

from __future__ import annotations

from typing import Any

from ._args import non_negative_int, positive_int


def add_data_arguments(group: Any) -> None:
    """Where the data is and which rows to sample (the dataset itself is each command's own option)."""
    group.add_argument("--data-dir", default=None,
                       help="folder with GLUE files in GLUE layout (default: $SHAPEPROF_DATA_DIR, else the Hub)")
    group.add_argument("--data-files", nargs="+", default=None, metavar="FILE",
                       help="local csv/tsv/json/jsonl/parquet files")
    group.add_argument("--split", default=None, help="split to read (GLUE default: validation)")
    group.add_argument("--text-columns", default=None, metavar="A[,B]",
                       help="one text column or a pair (default: inferred from the schema)")
    group.add_argument("--rows", type=positive_int, default=None, help="rows to sample (default: all)")
    group.add_argument("--seed", type=non_negative_int, default=0, help="sampling seed (default: 0)")
