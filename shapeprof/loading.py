"""Load a transformers model, its config and preprocessors, offline-friendly.

Model references are local directories or Hub ids. Remote code runs only when
the caller asks for it (``trust_remote_code=True``); weights load through
transformers, which prefers safetensors.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, ModelLoadError
from .onnx.registry import Registry, default_registry
from .onnx.tasks import auto_class, has_head, infer_task, normalize_task

if TYPE_CHECKING:
    from transformers import PretrainedConfig, PreTrainedModel

    from .onnx.base import OnnxConfig


@dataclass
class LoadedModel:
    """A model ready to export, with the ONNX config that describes it."""

    model: PreTrainedModel
    onnx_config: OnnxConfig
    source: str | None  # where the model came from, for copying preprocessors
    fresh_weights: tuple[str, ...] = ()  # parameters initialised at load time (e.g. a new head)

    @property
    def model_type(self) -> str:
        return self.onnx_config.MODEL_TYPE

    @property
    def task(self) -> str:
        return self.onnx_config.task


def _looks_like_path(ref: str) -> bool:
    return ref.startswith((".", "/", "~")) or Path(ref).exists() or ref.count("/") > 1


def load_config(ref: str, trust_remote_code: bool = False) -> PretrainedConfig:
    """The transformers config at ``ref``; a one-line error when it is missing."""
    from transformers import AutoConfig

    path = Path(ref).expanduser()
    if _looks_like_path(ref):
        if not path.is_dir():
            raise ModelLoadError(f"model path {ref!r} does not exist or is not a directory; "
                                 "give a directory holding config.json, or a Hub id")
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"{ref!r} has no config.json; point --model at a saved "
                                 "transformers model directory")
    try:
        return AutoConfig.from_pretrained(str(path) if path.exists() else ref,
                                          trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelLoadError(f"cannot load the config of {ref!r}: {first}") from e


def resolve_task(model_type: str, architectures: list[str] | None, task: str | None,
                 registry: Registry) -> str:
    """The task to export: the one given, else inferred from ``architectures``."""
    if task is not None:
        name = registry.check_task(model_type, task)
    else:
        name = infer_task(architectures)
        if name == "text-classification" and "audio-classification" in registry.tasks(model_type):
            name = "audio-classification"  # e.g. Wav2Vec2ForSequenceClassification
        if name not in registry.tasks(model_type):
            name = "feature-extraction"
        registry.check_task(model_type, name)
    if not has_head(model_type, name):
        raise ConfigError(f"transformers has no {name!r} head for {model_type!r}; "
                          f"supported tasks: {', '.join(registry.tasks(model_type))}")
    return name


def load_model(
    ref: str | Path,
    task: str | None = None,
    *,
    registry: Registry | None = None,
    trust_remote_code: bool = False,
    model_kwargs: dict[str, Any] | None = None,
) -> LoadedModel:
    """Load ``ref`` for ``task`` (inferred when None) with its ONNX config."""
    registry = registry or default_registry()
    ref = str(ref)
    config = load_config(ref, trust_remote_code)
    config_cls = registry.get(config.model_type)
    name = resolve_task(config.model_type, getattr(config, "architectures", None), task, registry)
    for key, value in (model_kwargs or {}).items():
        setattr(config, key, value)
    source = str(Path(ref).expanduser().resolve()) if Path(ref).expanduser().exists() else ref
    try:
        model, info = auto_class(name, config.model_type).from_pretrained(
            source, config=config, trust_remote_code=trust_remote_code, output_loading_info=True
        )
    except (OSError, ValueError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelLoadError(f"cannot load the weights of {ref!r}: {first}") from e
    return LoadedModel(model.eval(), config_cls(config, task=name), source,
                       tuple(sorted(info.get("missing_keys", ()))))


def wrap_model(model: PreTrainedModel, task: str | None = None, *,
               registry: Registry | None = None) -> LoadedModel:
    """Describe an in-memory model (e.g. built from a config class) for export."""
    registry = registry or default_registry()
    config = model.config
    config_cls = registry.get(config.model_type)
    name = resolve_task(config.model_type, getattr(config, "architectures", None),
                        normalize_task(task) if task else None, registry)
    return LoadedModel(model.eval(), config_cls(config, task=name), None)


def save_preprocessors(source: str | None, output_dir: Path,
                       trust_remote_code: bool = False) -> list[str]:
    """Copy the tokenizer (or processor) files next to the ONNX model; returns file names."""
    if source is None:
        return []
    from transformers import AutoTokenizer

    from transformers import AutoFeatureExtractor, AutoImageProcessor

    before = set(p.name for p in output_dir.iterdir())
    # Tokenizer, then image processor or feature extractor (vision and audio models).
    for loader in (AutoTokenizer, AutoImageProcessor, AutoFeatureExtractor):
        try:
            preprocessor = loader.from_pretrained(source, trust_remote_code=trust_remote_code)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue  # a model without one (e.g. built from a config) exports fine
        preprocessor.save_pretrained(str(output_dir))
        if loader is not AutoTokenizer:
            break
    return sorted(set(p.name for p in output_dir.iterdir()) - before)
