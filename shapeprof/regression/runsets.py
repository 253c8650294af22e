"""Run sets: several separate runs of one benchmark on a side of ``shapeprof compare``.

On the command line a side is a results file (as before), a directory (every ``*.json`` in it,
sorted by name) or results files joined by commas (``a.json,b.json``); a path that exists is
always taken whole, so a file with a comma in its name still works. Every file must be
``shapeprof bench`` results; the runs of a set must measure the same cells (checked in
``regression.compare``) and, in a set of several, be separate runs: files written by
``shapeprof ci`` (blocks interleaved with another model's) are refused there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import BenchError, CompareError

INTERLEAVED = "interleaved"     # results ``extra`` key: set by shapeprof ci's interleaved runs
REMEDY = "give a file written by 'shapeprof bench -o'"


def run_set_paths(spec: str | Path, which: str) -> list[Path]:
    """The files a side names: one file, a directory's ``*.json`` (sorted) or a comma list."""
    path = Path(spec)
    if path.is_dir():
        found = sorted(p for p in path.glob("*.json") if p.is_file())
        if not found:
            raise CompareError(f"{which} directory {str(path)!r} holds no results files (*.json); "
                               "give a directory of files written by 'shapeprof bench -o'")
        return found
    if "," in str(spec) and not path.exists():
        parts = [p.strip() for p in str(spec).split(",")]
        if not all(parts):
            raise CompareError(f"{which} run set {str(spec)!r} has an empty entry; join results "
                               "files with commas and nothing else: A.json,B.json")
        return [Path(p) for p in parts]
    return [path]


def load_run_set(paths: Sequence[str | Path], which: str) -> list[dict[str, Any]]:
    """Each file's results mapping; an unreadable or malformed file is a one-line CompareError."""
    from ..bench.results import BenchResults

    runs = []
    for path in paths:
        try:
            runs.append(BenchResults.load(path).to_dict())
        except BenchError as e:
            raise CompareError(f"{which} {e}".replace("bench error: ", "")) from e
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise CompareError(f"{which} results {str(path)!r} are malformed ({e!r}); {REMEDY}") from e
    return runs


def interleaved(run: Mapping[str, Any]) -> bool:
    """Results of ``shapeprof ci``: marked so, or (older files) cells with more rounds than the
    run's settings asked for, which only CI mode's merge of one-round benchmarks gives."""
    if (run.get("extra") or {}).get(INTERLEAVED):
        return True
    asked = (run.get("settings") or {}).get("rounds")
    return asked is not None and any(int(c.get("rounds") or 1) > int(asked) for c in run.get("cells") or ())
