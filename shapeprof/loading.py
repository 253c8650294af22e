"""Load a transformers model, its config and preprocessors, offline-friendly.

Model references are local directories or Hub ids. Remote code runs only when
the caller asks for it (``trust_remote_code=True``); weights load through
transformers from safetensors only: a local directory holding only pickled weights
(``pytorch_model.bin``) is refused, and safetensors headers are checked before loading.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, ModelLoadError
from .layout import PREPROCESSOR_FILE
from .onnx.builtin import default_registry
from .onnx.registry import Registry
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
    config_origin: str = "registered"    # "registered" (a registry row) or "derived" (from the model)

    @property
    def model_type(self) -> str:
        return self.onnx_config.MODEL_TYPE

    @property
    def task(self) -> str:
        return self.onnx_config.task


def _looks_like_path(ref: str) -> bool:
    return ref.startswith((".", "/", "~")) or Path(ref).exists() or ref.count("/") > 1


# Files a tokenizer's vocabulary lives in; without one, transformers builds an empty one.
VOCAB_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model",
               "tokenizer.model", "source.spm")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
CONVERT_HINT = ("convert it once in a trusted environment: load it with transformers "
                "(from_pretrained) and save_pretrained() it, which writes model.safetensors")


def local_model_dir(ref: str | Path) -> Path | None:
    """``ref`` as a checked local model directory, or None for a Hub id."""
    ref = str(ref)
    path = Path(ref).expanduser()
    if not _looks_like_path(ref):
        return None
    if not path.is_dir():
        raise ModelLoadError(f"model path {ref!r} does not exist or is not a directory; "
                             "give a directory holding config.json, or a Hub id")
    if not (path / "config.json").is_file():
        raise ModelLoadError(f"{ref!r} has no config.json; point --model at a saved "
                             "transformers model directory")
    return path


def check_weights(ref: str | Path) -> None:
    """Refuse pickle-only weights and truncated or corrupt safetensors in a local directory, cheaply."""
    path = local_model_dir(ref)
    if path is None:
        return
    safetensors = sorted(path.glob("*.safetensors"))
    if not safetensors:
        pickles = sorted(p.name for p in path.iterdir() if _is_pickle_weights(p))
        if pickles:
            raise ModelLoadError(f"{str(ref)!r} has weights only as a pickle ({pickles[0]}), which "
                                 f"shapeprof does not load because unpickling can run code; {CONVERT_HINT}")
        return  # no weights at all: the loader says so
    for file in safetensors:
        _check_safetensors(file)


def _is_pickle_weights(path: Path) -> bool:
    """A pickled checkpoint, not a Trainer's side file (training_args.bin, optimizer.pt, ...)."""
    side_files = ("training_args", "optimizer", "scheduler", "rng_state")
    return path.suffix in PICKLE_SUFFIXES and not path.name.startswith(side_files) and path.is_file()


def _check_safetensors(file: Path) -> None:
    """Read the header; a truncated file fails here ("file not fully covered")."""
    from safetensors import safe_open

    try:
        with safe_open(str(file), framework="np") as f:
            f.keys()
    except Exception as e:  # SafetensorError, OSError
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
        raise ModelLoadError(f"weights file {str(file)!r} is truncated or corrupt ({reason}); "
                             "re-download or re-save the model") from e


def require_tokenizer_files(ref: str | Path, what: str = "profiling") -> None:
    """A local model directory must carry its own tokenizer; without one transformers silently
    builds a tokenizer with no vocabulary (every word becomes [UNK])."""
    path = Path(str(ref)).expanduser()
    if not _looks_like_path(str(ref)) or not path.is_dir() or _has_vocab(path):
        return  # a Hub id, or a missing path the loader reports
    raise ModelLoadError(f"{str(ref)!r} has no tokenizer files ({', '.join(VOCAB_FILES[:3])}, ...); "
                         f"{what} needs the model's own tokenizer: save it into the directory "
                         "(tokenizer.save_pretrained(DIR)) or pass --model a directory that has one")


def require_preprocessor_files(ref: str | Path) -> None:
    """A local model directory must carry a tokenizer or a processor (image, audio) of its own."""
    path = local_model_dir(ref)
    if path is None or _has_vocab(path) or (path / PREPROCESSOR_FILE).is_file():
        return
    raise ModelLoadError(f"{str(ref)!r} has no tokenizer or processor files (tokenizer.json, "
                         f"vocab.txt, {PREPROCESSOR_FILE}, ...); profiling a dataset needs the model's "
                         "own: save them into the directory (save_pretrained) or pass --model a "
                         "directory that has them")


def _has_vocab(path: Path) -> bool:
    return any((path / f).is_file() for f in VOCAB_FILES)


def load_config(ref: str, trust_remote_code: bool = False) -> PretrainedConfig:
    """The transformers config at ``ref``; a one-line error when it is missing."""
    from transformers import AutoConfig

    path = Path(ref).expanduser()
    local_model_dir(ref)
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


CONFIG_CHOICES = ("registered", "auto")


def config_origin(model_type: str, choice: str | None, registry: Registry) -> str:
    """"registered" or "derived": ``choice`` "auto" derives, "registered" needs a row, None (the
    default) takes the registered config when there is one and derives otherwise."""
    if choice not in (None, *CONFIG_CHOICES):
        raise ConfigError(f"unknown config choice {choice!r}; use one of: {', '.join(CONFIG_CHOICES)}")
    if choice == "auto" or (choice is None and model_type not in registry):
        return "derived"
    try:
        registry.architecture(model_type)
    except ConfigError as e:
        raise ConfigError(f"{e.args[0]}; to derive its config from the model, use --config auto "
                          "(config='auto')") from None
    return "registered"


def resolve_derived_task(model_type: str, architectures: list[str] | None, task: str | None) -> str:
    """The task of a derived config: the one given, else inferred; transformers must have its head."""
    name = normalize_task(task) if task is not None else infer_task(architectures)
    if not has_head(model_type, name):
        if task is None and has_head(model_type, "feature-extraction"):
            return "feature-extraction"
        raise ConfigError(f"transformers has no {name!r} head for {model_type!r}; pass --task with a task "
                          "it has a model class for")
    return name


def _resolve(config: PretrainedConfig, task: str | None, choice: str | None,
             registry: Registry) -> tuple[str, str]:
    """(origin, task) for a model's config."""
    origin = config_origin(config.model_type, choice, registry)
    architectures = getattr(config, "architectures", None)
    if origin == "derived":
        return origin, resolve_derived_task(config.model_type, architectures, task)
    return origin, resolve_task(config.model_type, architectures, task, registry)


def onnx_config_for(model: PreTrainedModel, task: str, origin: str, registry: Registry) -> OnnxConfig:
    """The registered config class for the model's type, or one derived from the model."""
    if origin == "derived":
        from .onnx.derive import derive_onnx_config

        derived = derive_onnx_config(model, task)   # its task may fall back (-with-past without a cache)
        return derived(model.config, task=derived.SUPPORTED_TASKS[0])
    return registry.get(model.config.model_type)(model.config, task=task)


def load_model(
    ref: str | Path,
    task: str | None = None,
    *,
    registry: Registry | None = None,
    trust_remote_code: bool = False,
    model_kwargs: dict[str, Any] | None = None,
    config: str | None = None,
) -> LoadedModel:
    """Load ``ref`` for ``task`` (inferred when None) with its ONNX config.

    ``config``: "registered", "auto" (derive from the model), or None: registered when
    the model type has a row, else derived.
    """
    registry = default_registry() if registry is None else registry
    ref = str(ref)
    hf_config = load_config(ref, trust_remote_code)
    check_weights(ref)
    origin, name = _resolve(hf_config, task, config, registry)
    for key, value in (model_kwargs or {}).items():
        setattr(hf_config, key, value)
    source = str(Path(ref).expanduser().resolve()) if Path(ref).expanduser().exists() else ref
    try:
        model, info = auto_class(name, hf_config.model_type).from_pretrained(
            source, config=hf_config, trust_remote_code=trust_remote_code, output_loading_info=True
        )
    except Exception as e:  # OSError, ValueError, SafetensorError, UnpicklingError, ...
        import pickle

        if isinstance(e, pickle.UnpicklingError):
            raise ModelLoadError(f"the weights of {ref!r} are a pickle, which shapeprof does not "
                                 f"load; {CONVERT_HINT}") from e
        first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise ModelLoadError(f"cannot load the weights of {ref!r}: {first}") from e
    model = model.eval()
    return LoadedModel(model, onnx_config_for(model, name, origin, registry), source,
                       tuple(sorted(info.get("missing_keys", ()))), origin)


def wrap_model(model: PreTrainedModel, task: str | None = None, *,
               registry: Registry | None = None, config: str | None = None) -> LoadedModel:
    """Describe an in-memory model (e.g. built from a config class) for export.

    ``config`` as in :func:`load_model`.
    """
    registry = default_registry() if registry is None else registry
    origin, name = _resolve(model.config, task, config, registry)
    model = model.eval()
    return LoadedModel(model, onnx_config_for(model, name, origin, registry), None, (), origin)


def save_preprocessors(source: str | None, output_dir: Path,
                       trust_remote_code: bool = False) -> list[str]:
    """Copy the tokenizer (or processor) files next to the ONNX model; returns file names."""
    if source is None:
        return []
    from transformers import AutoTokenizer

    from transformers import AutoFeatureExtractor, AutoImageProcessor

    before = set(p.name for p in output_dir.iterdir())
    local = Path(source) if Path(source).is_dir() else None
    # Tokenizer, then image processor or feature extractor (vision and audio models); from a
    # local directory only those it has files for (else transformers invents an empty tokenizer).
    for loader in (AutoTokenizer, AutoImageProcessor, AutoFeatureExtractor):
        if local is not None and not (_has_vocab(local) if loader is AutoTokenizer
                                      else (local / PREPROCESSOR_FILE).is_file()):
            continue
        try:
            preprocessor = loader.from_pretrained(source, trust_remote_code=trust_remote_code)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue  # a model without one (e.g. built from a config) exports fine
        preprocessor.save_pretrained(str(output_dir))
        if loader is not AutoTokenizer:
            break
    return sorted(set(p.name for p in output_dir.iterdir()) - before)
