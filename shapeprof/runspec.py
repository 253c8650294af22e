"""YAML run specs (``configs/*.yaml``): model, dataset, task, sweep, variants, timing, thresholds.

A spec is validated on load; every error names the file and the bad key. ``run_spec``
runs one: profile, export, verify and benchmark into one output directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError

if TYPE_CHECKING:
    from .bench.options import BenchOptions

# key -> (type, or tuple of allowed types); sections are mappings of their own keys
TOP = {"name": str, "model": (str, type(None)), "task": (str, type(None)), "dataset": str,
       "data": dict, "export": dict, "sweep": dict, "variants": list, "pytorch": bool,
       "timing": dict, "replay": int, "thresholds": dict}
SECTIONS = {
    "data": {"data_dir": str, "data_files": list, "split": str, "text_columns": (str, list),
             "rows": int, "seed": int, "batch_sizes": list},
    "export": {"opset": int, "dynamic_range": str},
    "sweep": {"batch_sizes": list, "sequence_lengths": list},
    "timing": {"warmup": int, "min_samples": int, "min_time_s": (int, float), "rounds": int,
               "threads": int},
}


@dataclass(frozen=True)
class RunSpec:
    name: str
    path: Path
    model: str | None = None
    task: str | None = None
    dataset: str = "glue"
    data: dict[str, Any] = field(default_factory=dict)
    export: dict[str, Any] = field(default_factory=dict)
    sweep: dict[str, Any] = field(default_factory=dict)
    variants: tuple[str, ...] = ("onnx",)
    pytorch: bool = True
    timing: dict[str, Any] = field(default_factory=dict)
    replay: int = 0
    thresholds: dict[str, Any] = field(default_factory=dict)

    def bench_options(self) -> BenchOptions:
        """The spec's sweep, variants and timing as BenchOptions (timing ``threads`` is
        ``intra_op_threads``); a bad value names the spec file."""
        from .bench.options import BenchOptions
        from .errors import BenchError

        timing = dict(self.timing)
        if "threads" in timing:
            timing["intra_op_threads"] = timing.pop("threads")
        try:
            return BenchOptions.from_mapping({"variants": self.variants, "pytorch": self.pytorch,
                                              "replay_rows": self.replay, **timing, **self.sweep})
        except BenchError as e:
            raise ConfigError(f"{self.path}: {str(e).removeprefix(f'{BenchError.stage} error: ')}") from e


def load_spec(path: str | Path) -> RunSpec:
    """Read and validate a run spec."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(f"run spec {str(path)!r} not found; see configs/ for examples") from e
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise ConfigError(f"cannot read run spec {str(path)!r}: {str(e).splitlines()[0]}") from e
    where = str(path)
    _check(data, TOP, where)
    if "name" not in data:
        raise ConfigError(f"{where}: missing key 'name'")
    for section, keys in SECTIONS.items():
        _check(data.get(section, {}), keys, f"{where}: {section}")
    _check_lists(data, where)
    _check_numbers(data, where)
    if "thresholds" in data:
        from .errors import CompareError
        from .regression.thresholds import thresholds_from_mapping

        try:
            thresholds_from_mapping(data["thresholds"], f"{where}: thresholds")
        except CompareError as e:
            raise ConfigError(str(e).removeprefix(f"{CompareError.stage} error: ")) from e
    values = {k: v for k, v in data.items()}
    if "variants" in values:
        values["variants"] = tuple(values["variants"])
    spec = RunSpec(path=path, **values)
    spec.bench_options()        # every timing and sweep value range-checked on load
    return spec


def _check(data: Any, schema: Mapping[str, Any], where: str) -> None:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of keys, got {type(data).__name__}")
    for key, value in data.items():
        if key not in schema:
            raise ConfigError(f"{where}: unknown key {key!r}; known: {', '.join(schema)}")
        kinds = schema[key] if isinstance(schema[key], tuple) else (schema[key],)
        if isinstance(value, bool) and bool not in kinds:
            kinds = ()
        if not isinstance(value, kinds):
            names = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
            raise ConfigError(f"{where}: key {key!r} must be {names or 'not a boolean'}, not {value!r}")


def _check_lists(data: Mapping[str, Any], where: str) -> None:
    from .bench.variants import VARIANTS

    for name in data.get("variants", ()):
        if name not in VARIANTS:
            raise ConfigError(f"{where}: variants: unknown {name!r}; choose from {', '.join(VARIANTS)}")
    for section in ("sweep", "data"):
        for key, value in data.get(section, {}).items():
            if key.endswith(("sizes", "lengths")) and not all(
                    isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
                raise ConfigError(f"{where}: {section}: {key!r} must list positive integers, not {value!r}")


# (section or None for top level, key) -> smallest allowed value
MINIMUM = {("timing", "warmup"): 0, ("timing", "min_samples"): 1, ("timing", "min_time_s"): 0,
           ("timing", "rounds"): 1, ("timing", "threads"): 1, ("data", "rows"): 1,
           ("data", "seed"): 0, (None, "replay"): 0}


def _check_numbers(data: Mapping[str, Any], where: str) -> None:
    """Counts, seconds and the opset in range, so a bad spec stops before any work."""
    import math

    for (section, key), low in MINIMUM.items():
        value = (data if section is None else data.get(section, {})).get(key)
        if value is not None and (not math.isfinite(value) or value < low):
            place = f"{section}: " if section else ""
            raise ConfigError(f"{where}: {place}{key!r} must be a number >= {low}, not {value!r}")
    export = data.get("export", {})
    if export.get("dynamic_range", "model") not in ("model", "data"):
        raise ConfigError(f"{where}: export: 'dynamic_range' must be model or data, "
                          f"not {export['dynamic_range']!r}")
    if "opset" in export:
        from .export.plan import MAX_OPSET, MIN_OPSET

        if not MIN_OPSET <= export["opset"] <= MAX_OPSET:
            raise ConfigError(f"{where}: export: opset {export['opset']} is not supported; "
                              f"use {MIN_OPSET} to {MAX_OPSET}")


def run_spec(spec: RunSpec, output_dir: str | Path | None = None, overwrite: bool = False,
             progress: bool = True) -> Any:
    """Profile, export, verify and benchmark as the spec says; returns a ProfiledExport."""
    from .export.profiled import export_with_profile

    out = Path(output_dir) if output_dir is not None else Path("out") / spec.name
    data = dict(spec.data)
    if "batch_sizes" in data:
        data["batch_sizes"] = tuple(data["batch_sizes"])
    return export_with_profile(out, spec.model, spec.dataset, spec.task, spec.export.get("opset"),
                               profile_options=data,
                               dynamic_range=spec.export.get("dynamic_range", "model"),
                               bench=True, bench_options=spec.bench_options(), overwrite=overwrite,
                               progress=progress)
