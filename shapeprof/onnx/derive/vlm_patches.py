"""Export-time replacements for torch functions that image-text-to-text models call and that do
not survive the ONNX conversion.

- ``torch.bucketize`` (Idefics2/3 and SmolVLM place each patch of an image by bucketing its
  fractional coordinates): torch.onnx decomposes it into a binary search whose gathers read one
  past the boundaries on lanes already done, which torch tolerates and onnxruntime's ``GatherND``
  refuses. For sorted boundaries, the bucket is the count of boundaries below the value (``<=``
  with ``right=True``), which exports as a comparison and a sum.
"""

from __future__ import annotations

from typing import Any

from ..base import PatchingSpec


def bucketize_by_count(input: Any, boundaries: Any, *, out_int32: bool = False, right: bool = False,
                       out: Any = None) -> Any:
    """``torch.bucketize`` for sorted 1-D ``boundaries``, as a broadcast comparison and a sum."""
    import torch

    if out is not None or boundaries.dim() != 1:
        raise ValueError("bucketize_by_count takes 1-D boundaries and no out=")
    values = input.unsqueeze(-1)
    below = values >= boundaries if right else values > boundaries
    return below.sum(dim=-1, dtype=torch.int32 if out_int32 else torch.int64)


def export_patches() -> list[PatchingSpec]:
    import torch

    return [PatchingSpec(torch, "bucketize", bucketize_by_count)]
