"""Errors, one class per pipeline stage.

Every message names the input at fault and what to do next; the CLI prints
``str(error)`` on one line and exits non-zero.
"""

from __future__ import annotations


class ShapeprofError(Exception):
    """Base class of every error shapeprof raises on purpose."""

    stage = "shapeprof"

    def __str__(self) -> str:
        return f"{self.stage} error: {super().__str__()}"


class ConfigError(ShapeprofError):
    """Unknown model type, unsupported task, bad ONNX config or run spec."""

    stage = "config"


class ModelLoadError(ShapeprofError):
    """A model, its config or its tokenizer cannot be loaded."""

    stage = "model"


class DataError(ShapeprofError):
    """A dataset cannot be found, read, or has the wrong columns."""

    stage = "data"


class ProfileError(ShapeprofError):
    """A shape profile cannot be computed, loaded or applied."""

    stage = "profile"


class ExportError(ShapeprofError):
    """torch.onnx export failed or the output directory is unusable."""

    stage = "export"


class VerificationError(ShapeprofError):
    """onnxruntime outputs disagree with PyTorch beyond tolerance."""

    stage = "verify"


class BenchError(ShapeprofError):
    """A benchmark cannot be set up or run."""

    stage = "bench"


class CompareError(ShapeprofError):
    """Two results files cannot be compared."""

    stage = "compare"


class ReportError(ShapeprofError):
    """A report cannot be built or written (bad results file, unwritable path)."""

    stage = "report"


class HistoryError(ShapeprofError):
    """The history database cannot be opened, read or written, or a results file cannot join it."""

    stage = "history"


class TuneError(ShapeprofError):
    """A tune cannot be set up or run (bad option, unusable accuracy data, no candidate)."""

    stage = "tune"
