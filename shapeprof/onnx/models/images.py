"""Image architectures: classification and feature extraction.

Models with learned absolute position embeddings fix the image size (static
height and width); convolutional, windowed and interpolating models take any size.
"""

from __future__ import annotations

from ..registry import register
from ..vision import IMAGE_AXES, VISION_TASKS, VisionOnnxConfig


@register("vit", *VISION_TASKS)
class ViTOnnxConfig(VisionOnnxConfig):
    """ViT: patch embeddings plus absolute positions, so the image size is fixed."""

    STATIC_AXES = IMAGE_AXES


@register("deit", *VISION_TASKS)
class DeiTOnnxConfig(VisionOnnxConfig):
    """DeiT: ViT with a distillation token; fixed image size."""

    STATIC_AXES = IMAGE_AXES


@register("beit", *VISION_TASKS)
class BeitOnnxConfig(VisionOnnxConfig):
    """BEiT: relative position bias tables sized for the config's image; fixed image size."""

    STATIC_AXES = IMAGE_AXES


@register("dinov2", *VISION_TASKS)
class Dinov2OnnxConfig(VisionOnnxConfig):
    """DINOv2: interpolates its position embeddings, so any image size works.

    At its native, square size the model skips the interpolation (a Python branch that
    torch.export would freeze), so it is traced one and two patches larger, where the
    graph always interpolates; at the native size that interpolation is the identity.
    """

    def default_axis_sizes(self) -> dict[str, int]:
        height, width = self.image_size()
        patch = int(self._normalized_config.get("patch_size") or 14)
        return {"height": height + patch, "width": width + 2 * patch}


@register("convnext", *VISION_TASKS)
class ConvNextOnnxConfig(VisionOnnxConfig):
    """ConvNeXt: fully convolutional with global pooling; any image size."""


@register("resnet", *VISION_TASKS)
class ResNetOnnxConfig(VisionOnnxConfig):
    """ResNet: fully convolutional with adaptive pooling; any image size."""


@register("swin", *VISION_TASKS)
class SwinOnnxConfig(VisionOnnxConfig):
    """Swin: pads to whole windows, so any image size."""


@register("mobilevit", *VISION_TASKS)
class MobileViTOnnxConfig(VisionOnnxConfig):
    """MobileViT: its patch unfolding computes sizes with Python ints (``int(math.ceil(...))``),
    which torch.export freezes, so the export keeps the config's image size."""

    STATIC_AXES = IMAGE_AXES
