"""One greedy decode step as a serving loop runs it, shared by the decode cells and the replay.

A step is the host's work (the next token as the argmax of the last logits, the mask grown by
one, positions from the mask, ``present.*`` fed back as ``past_key_values.*``) and then one
``session.run`` on a cache one token longer than the last. Timing a decode cell as repeated
calls on one fixed feed misses both: the host's work, and the cost of a cache that grows
every call (new input arrays, a new shape each step). :class:`StepChain` times the real step.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

import numpy as np

Feeds = dict[str, np.ndarray]
CHAIN = 7            # timed steps per chain; odd, so the steps' past lengths centre on the cell's


def run_outputs(session: Any, feeds: Feeds, outputs: list[str]) -> dict[str, np.ndarray]:
    """``session.run`` of every output, by name (``outputs``: the session's output names)."""
    return dict(zip(outputs, session.run(None, feeds)))


def next_feeds(result: Mapping[str, np.ndarray], mask: np.ndarray, names: Collection[str]
               ) -> tuple[Feeds, np.ndarray]:
    """The host's work between two calls: the next step's feeds and the grown mask."""
    from ..onnx.past import past_from_present, position_ids

    token = result["logits"][:, -1, :].argmax(-1).astype(np.int64)[:, None]
    mask = np.concatenate([mask, np.ones_like(token)], axis=1)
    feeds = past_from_present(result)
    feeds.update(input_ids=token, attention_mask=mask)
    if "position_ids" in names:
        feeds["position_ids"] = position_ids(mask, 1)
    return {n: v for n, v in feeds.items() if n in names}, mask


def shorter_past(feeds: Mapping[str, np.ndarray], past: int) -> Feeds:
    """A one-token decode feed cut to ``past`` cached tokens (contiguous copies)."""
    out = dict(feeds)
    for name, value in feeds.items():
        if name.startswith("past_key_values."):
            out[name] = np.ascontiguousarray(value[:, :, :past])
    b = feeds["input_ids"].shape[0]
    out["attention_mask"] = np.ones((b, past + 1), dtype=np.int64)
    if "position_ids" in feeds:
        out["position_ids"] = np.full((b, 1), past, dtype=np.int64)
    return out


class StepChain:
    """Greedy decode steps around a cell's past length ``p``: ``reset`` (untimed) runs one call
    at past ``p - (CHAIN + 1) // 2`` (at least 0) from the cell's random cache; each ``step``
    is one real step, so ``CHAIN`` steps from a reset see past lengths ``p - 3 .. p + 3``."""

    def __init__(self, session: Any, feeds: Feeds) -> None:
        self.session = session
        self.names = {i.name for i in session.get_inputs()}
        self.outputs = [o.name for o in session.get_outputs()]
        past = int(feeds["attention_mask"].shape[1]) - int(feeds["input_ids"].shape[1])
        self.seed = shorter_past(feeds, max(0, past - (CHAIN + 1) // 2))
        self.result: dict[str, np.ndarray] = {}
        self.mask = self.seed["attention_mask"]

    def reset(self) -> None:
        self.result = run_outputs(self.session, self.seed, self.outputs)
        self.mask = self.seed["attention_mask"]

    def step(self) -> None:
        feeds, self.mask = next_feeds(self.result, self.mask, self.names)
        self.result = run_outputs(self.session, feeds, self.outputs)


def cell_call(session: Any, feeds: Feeds, phase: str) -> tuple[Callable[[], Any], Callable[[], None] | None]:
    """What one timed sample of a cell runs, and the untimed reset before every ``CHAIN``
    samples: a decode cell's real step, else one call on the cell's feeds."""
    if phase == "decode" and "logits" in {o.name for o in session.get_outputs()}:
        chain = StepChain(session, feeds)
        return chain.step, chain.reset
    return (lambda: session.run(None, feeds)), None
