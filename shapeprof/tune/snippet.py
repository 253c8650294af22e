"""Serve a list of texts exactly as ``shapeprof tune`` chose, from a tune directory's deploy.json.

This file is copied as ``serve.py`` into every tune output and runs there on its own (numpy,
onnxruntime and transformers only, no shapeprof):

    python serve.py "first text" "second text"      # prints one output row per text
    from serve import serve; vectors = serve(["first text", "second text"])

It opens ``sessions`` onnxruntime sessions with the recorded options, tokenizes without padding,
forms batches with the recorded policy (pad to longest, length buckets, or sorted within windows
of requests), runs them (several sessions in parallel threads), mean-pools embeddings where the
deployment says so, and returns one row per text in the given order.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent


def load(directory: str | Path = HERE) -> tuple[dict[str, Any], list[Any], Any]:
    """(deploy.json, the sessions, the tokenizer) of a tune directory."""
    import onnxruntime as ort
    from transformers import AutoTokenizer

    directory = Path(directory)
    deploy = json.loads((directory / "deploy.json").read_text(encoding="utf-8"))
    opts = deploy["session_options"]
    sessions = []
    for _ in range(deploy["sessions"]):
        options = ort.SessionOptions()
        options.intra_op_num_threads = opts["intra_op_num_threads"]
        options.inter_op_num_threads = opts["inter_op_num_threads"]
        options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, opts["graph_optimization_level"])
        for key, value in opts["config_entries"].items():
            options.add_session_config_entry(key, value)
        sessions.append(ort.InferenceSession(str(directory / deploy["model_file"]), options,
                                             providers=deploy["providers"]))
    return deploy, sessions, AutoTokenizer.from_pretrained(directory)


def plan(lengths: np.ndarray, batching: dict[str, Any], batch_size: int) -> list[tuple[np.ndarray, int]]:
    """[(row indices, padded length)] in the order a server sends the batches."""
    chunks = lambda idx: [idx[i:i + batch_size] for i in range(0, len(idx), batch_size)]  # noqa: E731
    if batching["policy"] == "longest":
        return [(b, int(lengths[b].max())) for b in chunks(np.arange(len(lengths)))]
    if batching["policy"] == "window":
        out = []
        for start in range(0, len(lengths), batching["window"]):
            idx = np.arange(start, min(start + batching["window"], len(lengths)))
            out += [(b, int(lengths[b].max())) for b in chunks(idx[np.argsort(lengths[idx], kind="stable")])]
        return out
    edges = np.asarray(batching["bucket_edges"])
    which = np.minimum(np.searchsorted(edges, lengths, side="left"), len(edges) - 1)
    queues: dict[int, list[int]] = {}
    out = []
    for i, b in enumerate(which):
        queues.setdefault(int(b), []).append(i)
        if len(queues[int(b)]) == batch_size:
            out.append(np.array(queues.pop(int(b))))
    out += [np.array(queues[b]) for b in sorted(queues)]
    return [(b, max(int(edges[which[b[0]]]), int(lengths[b].max()))) for b in out]


def serve(texts: list[Any], loaded: tuple[dict[str, Any], list[Any], Any] | None = None) -> np.ndarray:
    """One output row per text (a pooled embedding or the logits), in the order given."""
    deploy, sessions, tokenizer = loaded or load()
    pairs = bool(texts) and not isinstance(texts[0], str)
    first, second = ([t[0] for t in texts], [t[1] for t in texts]) if pairs else (list(texts), None)
    encoded = tokenizer(first, second, truncation=True, max_length=deploy["max_length"])
    lengths = np.array([len(ids) for ids in encoded["input_ids"]])
    batches = plan(lengths, deploy["batching"], deploy["batch_size"])
    results: list[Any] = [None] * len(batches)
    jobs: queue.Queue[int] = queue.Queue()
    for i in range(len(batches)):
        jobs.put(i)

    def work(session: Any) -> None:
        while True:
            try:
                i = jobs.get_nowait()
            except queue.Empty:
                return
            results[i] = _run(session, deploy, encoded, tokenizer.pad_token_id or 0, *batches[i])

    threads = [threading.Thread(target=work, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out = np.empty((len(texts), *results[0].shape[1:]), dtype=results[0].dtype)
    for (rows, _), result in zip(batches, results):
        out[rows] = result
    return out


def _run(session: Any, deploy: dict[str, Any], encoded: Any, pad_id: int, rows: np.ndarray, pad: int
         ) -> np.ndarray:
    feeds = {}
    for name in deploy["inputs"]:
        fill = pad_id if name == "input_ids" else 0
        arr = np.full((len(rows), pad), fill, dtype=np.int64)
        for j, r in enumerate(rows):
            seq = encoded[name][r] if name in encoded else [0] * len(encoded["input_ids"][r])
            arr[j, :len(seq)] = seq
        feeds[name] = arr
    out = session.run([deploy["output"]], feeds)[0]
    if deploy["pooling"] != "mean":
        return out
    mask = (np.arange(pad)[None, :] < np.array([len(encoded["input_ids"][r]) for r in rows])[:, None])
    mask = mask[..., None].astype(out.dtype)
    return (out * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)


if __name__ == "__main__":
    for row in serve(sys.argv[1:] or ["shapeprof serves this text as tune chose."]):
        print(" ".join(f"{x:.6g}" for x in np.ravel(row)[:8]), "..." if np.size(row) > 8 else "")
