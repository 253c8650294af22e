"""Falcon: how many key/value heads the cache has depends on two flags."""

from __future__ import annotations

from ..normalized import NormalizedTextConfig


class NormalizedFalconConfig(NormalizedTextConfig):
    """Falcon-7B's multi-query attention caches one head; Falcon-40B's new architecture ``num_kv_heads``."""

    @property
    def num_key_value_heads(self) -> int:
        cfg = self.config
        if cfg.multi_query and not cfg.new_decoder_architecture:
            return 1
        return int(cfg.num_kv_heads)
