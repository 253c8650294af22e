"""``shapeprof tune``: the fastest deployment of an exported model that keeps its accuracy, chosen
on the user's own data (variant, batching, batch size, threads) and proven by replay on held-out
rows against the usual way of serving it.

``tune(model_dir, profile, output_dir, TuneOptions(...))`` -> :class:`TuneResult`; the output
directory gets tune.json, tune.md, deploy.json, serve.py and the chosen graph. Names load lazily,
so the CLI's ``--help`` stays instant.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {"TuneOptions": ".options", "TuneResult": ".result", "tune": ".pipeline"}

__all__ = ["TuneOptions", "TuneResult", "tune"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'shapeprof.tune' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name], __name__), name)
