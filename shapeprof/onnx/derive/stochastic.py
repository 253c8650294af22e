"""Whether a model's forward pass is deterministic: ViTMAE masks a random subset of patches on
every call, so an export could never match PyTorch; derivation refuses it with the reason."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .probe import run

if TYPE_CHECKING:
    from ..base import OnnxConfig


def random_outputs(model: Any, cfg: OnnxConfig, sizes: Mapping[str, int]) -> list[str]:
    """Outputs of ``cfg`` that differ between two forward passes on the same inputs."""
    import torch

    names = list(cfg.outputs)
    first, second = run(model, cfg, sizes), run(model, cfg, sizes)
    return [n for n in names if isinstance(first.get(n), torch.Tensor)
            and not torch.equal(first[n], second[n])]
