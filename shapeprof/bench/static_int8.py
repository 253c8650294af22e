"""Static int8: onnxruntime's ``quantize_static`` with activation ranges calibrated on real rows.

Unlike dynamic int8, activation scales are fixed ahead of time from the calibration rows, so no
run-time min/max pass is needed. What gets quantised is chosen for accuracy: MatMuls with
constant weights only (attention's activation x activation MatMuls stay float), their
outputs left in float (onnxruntime runs them as MatMulIntegerToFloat), weights per output
channel, activations asymmetric uint8, and named sensitive nodes left in float (``StaticSettings.exclude``, glob
patterns over node names, and ``float_after``: consumers of an op type such as GELU).
"""

from __future__ import annotations

import contextlib
import fnmatch
import io
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BenchError

if TYPE_CHECKING:
    from .calibration import CalibrationRows, TextCalibrationReader
    from .model_dir import ModelDir

FORMATS = ("qdq", "qoperator")
METHODS = ("minmax", "percentile", "entropy")


@dataclass(frozen=True)
class StaticSettings:
    """How a static int8 variant is built (recorded with the variant)."""

    quant_format: str = "qdq"
    per_channel: bool = True
    method: str = "minmax"                   # activation ranges: minmax, percentile or entropy
    percentile: float = 99.999               # the percentile method's
    op_types: tuple[str, ...] = ("MatMul", "Gemm")
    exclude: tuple[str, ...] = ()            # node-name glob patterns kept in float
    float_after: tuple[str, ...] = ()        # op types whose consumers stay float (e.g. "Gelu")
    batch_size: int = 8                      # calibration batch (length-sorted rows)
    # optimized-static-int8: let the optimizer fuse attention (its Attention op then stays float:
    # static quantisation has no int8 Attention) or not (its projections become int8 MatMuls)
    fuse_attention: bool = False
    # quantise the MatMuls' outputs too (QLinearMatMul, then dequantised) or leave them float
    # (onnxruntime fuses DequantizeLinear + MatMul into MatMulIntegerToFloat: faster)
    quantize_outputs: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "op_types": list(self.op_types), "exclude": list(self.exclude),
                "float_after": list(self.float_after)}

    def check(self) -> StaticSettings:
        if self.quant_format not in FORMATS:
            raise BenchError(f"unknown static quantisation format {self.quant_format!r}; choose {' or '.join(FORMATS)}")
        if self.method not in METHODS:
            raise BenchError(f"unknown calibration method {self.method!r}; choose one of {', '.join(METHODS)}")
        return self


DEFAULT_STATIC = StaticSettings()


def quantize_static_int8(src: Path, out: Path, model: ModelDir, rows: CalibrationRows,
                         settings: StaticSettings = DEFAULT_STATIC, tokenizer: Any = None) -> Path:
    """Quantise ``src`` statically into ``out``, calibrating on ``rows`` (tokenized for ``model``
    with ``tokenizer``, default: the model's, loaded here)."""
    import onnx
    from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference

    from ..export.graph_form import strip_value_info
    from .calibration import TextCalibrationReader
    from .ort_logs import quiet_logs

    settings.check()
    typed = out.with_name(out.stem + "-typed.onnx")
    with quiet_logs():
        try:
            graph = SymbolicShapeInference.infer_shapes(onnx.load(str(src)), auto_merge=True)
            onnx.save(graph, str(typed))
            exclude = excluded_nodes(graph, settings.exclude, settings.float_after) + activation_matmuls(graph)
            reader = TextCalibrationReader(model, graph_inputs(graph), rows, settings.batch_size,
                                           uniform=settings.method != "minmax", tokenizer=tokenizer)
            _quantize(typed, out, reader, settings, exclude)
        except BenchError:
            raise
        except Exception as e:
            raise BenchError(f"static int8 quantisation of {str(src)!r} failed: {type(e).__name__}: "
                             f"{str(e)[:200]}; drop the static int8 variants") from e
        finally:       # the typed copy, and the shape-inferred one the quantiser writes beside it
            typed.unlink(missing_ok=True)
            typed.with_name(typed.stem + "-inferred.onnx").unlink(missing_ok=True)
    result = onnx.load(str(out))
    strip_value_info(result)
    onnx.save(result, str(out))
    return out


def _quantize(typed: Path, out: Path, reader: TextCalibrationReader, settings: StaticSettings,
              exclude: list[str]) -> None:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    method = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
              "entropy": CalibrationMethod.Entropy}[settings.method]
    fmt = QuantFormat.QDQ if settings.quant_format == "qdq" else QuantFormat.QOperator
    extra = {"MatMulConstBOnly": True, "ActivationSymmetric": False, "WeightSymmetric": True,
             "CalibPercentile": settings.percentile,
             "OpTypesToExcludeOutputQuantization": [] if settings.quantize_outputs else list(settings.op_types)}
    with contextlib.redirect_stdout(io.StringIO()):     # the histogram calibrators print progress
        quantize_static(str(typed), str(out), reader, quant_format=fmt, op_types_to_quantize=list(settings.op_types),
                        per_channel=settings.per_channel, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, nodes_to_exclude=exclude or None,
                        calibrate_method=method, extra_options=extra)


def graph_inputs(graph: Any) -> list[Any]:
    """The graph's fed inputs (initializers listed as inputs left out), as a session lists them."""
    weights = {t.name for t in graph.graph.initializer}
    return [i for i in graph.graph.input if i.name not in weights]


def activation_matmuls(graph: Any) -> list[str]:
    """MatMuls of two activations (attention's scores and context): kept in float.

    onnxruntime's QDQ quantiser ignores ``MatMulConstBOnly`` and would quantise them."""
    weights = {t.name for t in graph.graph.initializer}
    weights |= {o for n in graph.graph.node if n.op_type == "Constant" for o in n.output}
    return [n.name for n in graph.graph.node if n.op_type == "MatMul" and not set(n.input) & weights]


def excluded_nodes(graph: Any, patterns: tuple[str, ...], float_after: tuple[str, ...] = ()) -> list[str]:
    """Names of the graph's nodes matching any glob pattern or fed by an op of ``float_after``."""
    nodes = graph.graph.node
    after = {o for n in nodes if n.op_type in float_after for o in n.output}
    return [n.name for n in nodes if any(fnmatch.fnmatchcase(n.name, p) for p in patterns)
            or any(i in after for i in n.input)]
