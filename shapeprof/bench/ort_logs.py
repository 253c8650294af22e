"""Keep onnxruntime's optimizer and quantizer log lines off stderr."""

from __future__ import annotations

import logging


class quiet_logs:
    """Keep onnxruntime's optimizer/quantizer log lines off stderr."""

    def __enter__(self) -> None:
        self._level = logging.root.level
        logging.root.setLevel(logging.ERROR)
        for name in ("onnxruntime", "fusion", "onnx_model", "onnxruntime.transformers"):
            logging.getLogger(name).setLevel(logging.ERROR)

    def __exit__(self, *exc: object) -> None:
        logging.root.setLevel(self._level)
