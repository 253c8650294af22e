"""Model variants to time on the same cells: the exported graph, onnxruntime's transformer
optimizer, dynamic int8 quantisation, and both combined.

* ``onnx``: MODEL_DIR/model.onnx as exported.
* ``optimized``: ``onnxruntime.transformers.optimizer.optimize_model`` (model_type ``bert`` for
  the BERT-like encoders, num_heads and hidden_size from the config); fused ops are recorded.
* ``int8``: ``onnxruntime.quantization.quantize_dynamic`` (int8 weights, dynamic activations).
* ``optimized-int8``: the optimised graph, quantised.
* ``static-int8``, ``optimized-static-int8``: static int8 (``quantize_static``) of the exported or
  optimised graph, calibrated on real rows of the profiled dataset (shapeprof.bench.static_int8,
  shapeprof.bench.calibration). They need calibration rows, so ``shapeprof bench`` does not
  build them; ``make_variant`` does.
* ``optimized-fastgelu``, ``optimized-fastgelu-int8``: the optimizer with GELU approximated
  (``FastGelu``, the tanh form: cheaper than the erf of ``BiasGelu``), then dynamic int8. Their
  outputs differ from the exact graph's, so they are for callers that score task accuracy
  (``shapeprof tune``); ``make_variant`` builds them.

Each variant is checked against a reference (PyTorch, else the exported graph) on real rows
before it is timed; the largest absolute deviation is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import BenchError
from ..layout import VARIANT_FILES
from .model_dir import ModelDir, open_model_dir
from .ort_logs import quiet_logs

if TYPE_CHECKING:
    from .calibration import CalibrationRows
    from .static_int8 import StaticSettings

VARIANTS = ("onnx", "optimized", "int8", "optimized-int8")     # what shapeprof bench builds
STATIC_VARIANTS = ("static-int8", "optimized-static-int8")     # these need calibration rows
FASTGELU_VARIANTS = ("optimized-fastgelu", "optimized-fastgelu-int8")   # GELU approximated
ALL_VARIANTS = VARIANTS + STATIC_VARIANTS + FASTGELU_VARIANTS
OPTIMIZER_MODEL_TYPES = {"bert": "bert", "roberta": "bert", "xlm-roberta": "bert", "electra": "bert",
                         "albert": "bert", "mpnet": "bert", "distilbert": "bert", "deberta-v2": "bert"}
EXACT_ATOL = 1e-3       # fp32 variants: a deviation above this is flagged


@dataclass(frozen=True)
class VariantInfo:
    """A built variant and how far it is from the reference."""

    name: str
    path: str
    reference: str                      # "pytorch" or "onnx"
    max_abs_diff: float | None = None
    mean_abs_diff: float | None = None
    checked_on: str = ""                # e.g. "2 batches of data rows"
    within_tolerance: bool | None = None
    fused_ops: dict[str, int] = field(default_factory=dict)
    size_mb: float = 0.0
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "reference": self.reference,
                "max_abs_diff": self.max_abs_diff, "mean_abs_diff": self.mean_abs_diff,
                "checked_on": self.checked_on, "within_tolerance": self.within_tolerance,
                "fused_ops": dict(self.fused_ops), "size_mb": self.size_mb, "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VariantInfo:
        return cls(d["name"], d["path"], d["reference"], d.get("max_abs_diff"), d.get("mean_abs_diff"),
                   d.get("checked_on", ""), d.get("within_tolerance"), dict(d.get("fused_ops") or {}),
                   float(d.get("size_mb") or 0.0), tuple(d.get("notes") or ()))


def check_variant_names(names: Sequence[str]) -> tuple[str, ...]:
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise BenchError(f"unknown variant {unknown[0]!r}; choose from {', '.join(VARIANTS)}")
    if not names:
        raise BenchError(f"no variants to time; choose from {', '.join(VARIANTS)}")
    return tuple(dict.fromkeys(names))


def build_variant(name: str, model: ModelDir, workdir: Path, calibration: CalibrationRows | None = None,
                  static: StaticSettings | None = None, *, tokenizer: Any = None) -> tuple[Path, dict[str, int]]:
    """The variant's ONNX file (built under ``workdir``) and its fused-op counts.

    The static int8 variants need ``calibration`` rows (see ``calibration_rows``), tokenized with
    ``tokenizer`` (default: the model's, loaded here). The optimized graph is built once per
    ``workdir`` (see ``optimize``), however many variants start from it.
    """
    if name in STATIC_VARIANTS and calibration is None:
        raise BenchError(f"variant {name!r} is calibrated on real rows; pass calibration rows "
                         "(shapeprof.bench.calibration.calibration_rows) or drop it")
    if name == "onnx":
        return model.onnx_path, {}
    if name in ("int8", "static-int8"):
        return _int8(name, model.onnx_path, workdir, model, calibration, static, tokenizer), {}
    if name == "optimized-static-int8" and not _static_settings(static).fuse_attention:
        optimized, fused = optimize(model, workdir / "model-optimized-unfused-attention.onnx", attention=False)
    elif name in FASTGELU_VARIANTS:
        optimized, fused = optimize(model, workdir / VARIANT_FILES["optimized-fastgelu"], approximate_gelu=True)
        if name == "optimized-fastgelu":
            return optimized, fused
    else:
        optimized, fused = optimize(model, workdir / VARIANT_FILES["optimized"])
    if name == "optimized":
        return optimized, fused
    return _int8(name, optimized, workdir, model, calibration, static, tokenizer), fused


def make_variant(model_dir: str | Path | ModelDir, name: str, out_dir: str | Path, *,
                 calibration: CalibrationRows | None = None, static: StaticSettings | None = None,
                 tokenizer: Any = None) -> tuple[Path, dict[str, int]]:
    """Build variant ``name`` of MODEL_DIR into ``out_dir`` (created); returns its file and fused ops.

    ``name`` is one of ``ALL_VARIANTS``; the static int8 ones are calibrated on ``calibration``
    with ``static`` settings (default: shapeprof.bench.static_int8.DEFAULT_STATIC).
    """
    if name not in ALL_VARIANTS:
        raise BenchError(f"unknown variant {name!r}; choose from {', '.join(ALL_VARIANTS)}")
    model = model_dir if isinstance(model_dir, ModelDir) else open_model_dir(model_dir)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return build_variant(name, model, out, calibration, static, tokenizer=tokenizer)


def _int8(name: str, src: Path, workdir: Path, model: ModelDir, calibration: CalibrationRows | None,
          static: StaticSettings | None, tokenizer: Any) -> Path:
    out = workdir / VARIANT_FILES[name]
    if name in STATIC_VARIANTS and calibration is not None:
        from .static_int8 import quantize_static_int8

        return quantize_static_int8(src, out, model, calibration, _static_settings(static), tokenizer)
    return quantize(src, out)


def _static_settings(static: StaticSettings | None) -> StaticSettings:
    from .static_int8 import DEFAULT_STATIC

    return static or DEFAULT_STATIC


def optimize(model: ModelDir, out: Path, attention: bool = True, approximate_gelu: bool = False
             ) -> tuple[Path, dict[str, int]]:
    """onnxruntime's transformer optimizer with heads/hidden size from the config (``attention``:
    fuse attention into one Attention op; ``approximate_gelu``: GELU as FastGelu).

    The optimized graph is made once per process: a later call for the same source graph, file and
    options (its int8 after the float one, say) reuses ``out`` while it is the file written.
    """
    key = _optimized_key(model.onnx_path, out, attention, approximate_gelu)
    made = _OPTIMIZED.get(key)
    if made is not None and _file_stamp(out) == made[0]:
        return out, dict(made[1])
    out, fused = _run_optimizer(model, out, attention, approximate_gelu)
    _OPTIMIZED[key] = (_file_stamp(out), dict(fused))
    return out, fused


# (source graph, its stamp, output file, attention, approximate GELU) -> (the output's stamp when
# written, fused ops)
_OPTIMIZED: dict[tuple[str, tuple[int, int], str, bool, bool], tuple[tuple[int, int], dict[str, int]]] = {}


def _file_stamp(path: Path) -> tuple[int, int]:
    """(modification time in ns, size) of ``path``; (0, -1) when it does not exist."""
    try:
        st = path.stat()
    except OSError:
        return 0, -1
    return st.st_mtime_ns, st.st_size


def _optimized_key(src: Path, out: Path, attention: bool, approximate_gelu: bool
                   ) -> tuple[str, tuple[int, int], str, bool, bool]:
    return str(src.resolve()), _file_stamp(src), str(out.resolve()), attention, approximate_gelu


def _run_optimizer(model: ModelDir, out: Path, attention: bool, approximate_gelu: bool = False
                   ) -> tuple[Path, dict[str, int]]:
    from onnxruntime.transformers.optimizer import optimize_model

    kind = OPTIMIZER_MODEL_TYPES.get(model.model_type)
    if kind is None:
        raise BenchError(f"onnxruntime's transformer optimizer has no fusion for {model.model_type!r}; "
                         "drop the 'optimized' variants")
    heads, hidden = _heads_hidden(model.config)
    with quiet_logs():
        try:
            opt = optimize_model(str(model.onnx_path), model_type=kind, num_heads=heads,
                                 hidden_size=hidden,
                                 optimization_options=fusion_options(kind, attention, approximate_gelu))
            opt.save_model_to_file(str(out))
        except Exception as e:  # the optimizer raises many types
            raise BenchError(f"onnxruntime's transformer optimizer failed on {str(model.onnx_path)!r}: "
                             f"{type(e).__name__}: {str(e)[:200]}; drop the 'optimized' variants") from e
    fused = {k: int(v) for k, v in opt.get_fused_operator_statistics().items() if v}
    return out, fused


def fusion_options(kind: str, attention: bool = True, approximate_gelu: bool = False) -> Any:
    """The optimizer's options, adjusted for correctness and CPU speed.

    The default mask format assumes right padding (1-D sequence lengths) and gives
    wrong results for left padding or holes; keep the full mask. SkipLayerNormalization
    is off because its CPU kernel is slower than the Add + LayerNormalization it fuses.
    """
    from onnxruntime.transformers.fusion_options import AttentionMaskFormat, FusionOptions

    options = FusionOptions(kind)
    options.attention_mask_format = AttentionMaskFormat.AttentionMask
    options.enable_skip_layer_norm = False
    options.enable_attention = attention
    options.enable_gelu_approximation = approximate_gelu
    return options


def quantize(src: Path, out: Path) -> Path:
    """Dynamic int8 quantisation of ``src`` (weights int8, activations quantised at run time).

    The quantiser needs every tensor's type, which exports carry no annotations for (see
    shapeprof.graph_form) and ONNX shape inference cannot give through onnxruntime's fused
    ops: onnxruntime's symbolic shape inference fills them in first, and they are dropped again
    from the result.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference

    from ..export.graph_form import strip_value_info

    typed = out.with_name(out.stem + "-typed.onnx")
    with quiet_logs():
        try:
            onnx.save(SymbolicShapeInference.infer_shapes(onnx.load(str(src)), auto_merge=True), str(typed))
            quantize_dynamic(str(typed), str(out), weight_type=QuantType.QInt8)
        except Exception as e:
            raise BenchError(f"dynamic int8 quantisation of {str(src)!r} failed: {type(e).__name__}: "
                             f"{str(e)[:200]}; drop the 'int8' variants") from e
        finally:
            typed.unlink(missing_ok=True)
    model = onnx.load(str(out))
    strip_value_info(model)
    onnx.save(model, str(out))
    return out


def _heads_hidden(config: dict[str, Any]) -> tuple[int, int]:
    heads = config.get("num_attention_heads") or config.get("n_heads")
    hidden = config.get("hidden_size") or config.get("dim")
    if not heads or not hidden:
        raise BenchError("config.json has no num_attention_heads/hidden_size for the optimizer; "
                         "drop the 'optimized' variants")
    return int(heads), int(hidden)


def deviation(outputs: Sequence[np.ndarray], references: Sequence[np.ndarray]) -> tuple[float, float]:
    """(max, mean) absolute difference over matching outputs; BenchError on a shape mismatch."""
    worst, total, count = 0.0, 0.0, 0
    for out, ref in zip(outputs, references):
        if out.shape != ref.shape:
            raise BenchError(f"a variant returned shape {out.shape} where the reference has "
                             f"{ref.shape}; the variant is broken, drop it")
        diff = np.abs(out.astype(np.float64) - ref.astype(np.float64))
        if not np.isfinite(diff).all():
            raise BenchError("a variant returned NaN or infinity where the reference is finite; drop it")
        worst = max(worst, float(diff.max()))
        total, count = total + float(diff.sum()), count + diff.size
    return worst, total / max(count, 1)
