"""``TuneResult``: everything a tune measured and decided, saved as versioned ``tune.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import schema
from ..atomic import write_json
from .candidates import Candidate, Prediction, Slo
from .proof import Replay
from .scoring import AccuracyRow


@dataclass(frozen=True)
class Row:
    """One candidate of the ranked table (the baseline is the first)."""

    candidate: Candidate
    prediction: Prediction
    accuracy_drop: float | None
    memory_mib: float | None
    meets_slo: bool
    baseline: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"candidate": self.candidate.to_dict(), "label": self.candidate.label,
                "prediction": self.prediction.to_dict(), "accuracy_drop": self.accuracy_drop,
                "memory_mib": self.memory_mib, "meets_slo": self.meets_slo, "baseline": self.baseline}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Row:
        return cls(Candidate.from_dict(d["candidate"]), Prediction(**d["prediction"]), d["accuracy_drop"],
                   d["memory_mib"], bool(d["meets_slo"]), bool(d.get("baseline")))


@dataclass(frozen=True)
class Proof:
    winner: Replay
    baseline: Replay
    speedup: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {"winner": self.winner.to_dict(), "baseline": self.baseline.to_dict(), "speedup": self.speedup}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Proof:
        return cls(Replay.from_dict(d["winner"]), Replay.from_dict(d["baseline"]), dict(d["speedup"]))


@dataclass(frozen=True)
class TuneResult:
    model: dict[str, Any]
    data: dict[str, Any]               # dataset, rows, search and held-out rows
    options: dict[str, Any]
    environment: dict[str, Any]
    accuracy: tuple[AccuracyRow, ...]
    rows: tuple[Row, ...]              # baseline first, then ranked
    winner: Row | None
    proof: Proof | None
    pruned: dict[str, str] = field(default_factory=dict)
    layouts: dict[str, Any] = field(default_factory=dict)
    deploy: dict[str, Any] | None = None
    seconds: float = 0.0
    notes: tuple[str, ...] = ()

    @property
    def slo(self) -> Slo | None:
        o = self.options
        if o.get("slo_ms") is not None:
            return Slo(float(o["slo_ms"]), "p50")
        return Slo(float(o["slo_p99_ms"]), "p99") if o.get("slo_p99_ms") is not None else None

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": schema.current("tune"), "model": self.model, "data": self.data,
                "options": self.options, "environment": self.environment,
                "accuracy": [a.to_dict() for a in self.accuracy], "rows": [r.to_dict() for r in self.rows],
                "winner": None if self.winner is None else self.winner.to_dict(),
                "proof": None if self.proof is None else self.proof.to_dict(), "pruned": self.pruned,
                "layouts": self.layouts, "deploy": self.deploy, "seconds": self.seconds,
                "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TuneResult:
        d = schema.upgrade("tune", d)
        return cls(d["model"], d["data"], d["options"], d["environment"],
                   tuple(AccuracyRow.from_dict(a) for a in d["accuracy"]),
                   tuple(Row.from_dict(r) for r in d["rows"]),
                   None if d["winner"] is None else Row.from_dict(d["winner"]),
                   None if d["proof"] is None else Proof.from_dict(d["proof"]), dict(d["pruned"]),
                   dict(d["layouts"]), d["deploy"], float(d["seconds"]), tuple(d["notes"]))

    def save(self, path: str | Path) -> Path:
        write_json(Path(path), self.to_dict())
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> TuneResult:
        return cls.from_dict(schema.load("tune", path))


def dumps(result: TuneResult) -> str:
    return json.dumps(result.to_dict(), indent=2)
