"""DINOv2: interpolates its position embeddings, so any image size works."""

from __future__ import annotations

from ..vision import VisionOnnxConfig


class InterpolatingVisionOnnxConfig(VisionOnnxConfig):
    """Traced one and two patches off the native size.

    At its native, square size the model skips the interpolation (a Python branch that
    torch.export would freeze), so it is traced where the graph always interpolates;
    at the native size that interpolation is the identity.
    """

    def default_axis_sizes(self) -> dict[str, int]:
        height, width = self.image_size()
        patch = int(self._normalized_config.get("patch_size") or 14)
        return {"height": height + patch, "width": width + 2 * patch}
