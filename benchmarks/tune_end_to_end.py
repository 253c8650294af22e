"""The tune's winner end to end, texts in and pooled embeddings out, against the usual way.

``shapeprof tune``'s proof times what the search chose between: ``session.run`` over batches
whose feeds were built before the clock started (as a server's tokenizer runs ahead of the
model). A user serves texts. This script times, on the tune's held-out rows (the same split:
the profile's rows, the same seed), paired round by round with the order alternating:

* winner: the tune directory's own ``serve.py`` (``serve(texts)``): tokenize every text, plan
  the batches as deploy.json says, run them on its sessions, mean-pool;
* baseline, the usual way: the exported float32 graph in onnxruntime's default session, the
  tokenizer called per batch of 32 in data order with ``padding=True``, mean pooling in numpy;
* tokenization alone (the winner's one ``tokenizer(texts)`` call), to give its share of the
  winner's time;

and reports the end-to-end speedup (geometric mean of the rounds' ratios, 95% t interval) beside
each side's throughput. Run it after ``tune_minilm.py`` (``--work-dir`` the same):

    PYTHONPATH=. python benchmarks/tune_end_to_end.py [--work-dir out/bench-work] [--rounds 8]

The machine's load is printed with the figures: on a shared machine only the paired ratio means
much. ``min_cosine_winner_vs_baseline`` is the lowest cosine between a text's two embeddings.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from tuned_args import tuned_args

os.environ.setdefault("HF_HUB_OFFLINE", "1")      # the tokenizer's own parallelism left as users get it
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

BASELINE_BATCH = 32


def held_out_texts(model_dir: Path, tune_dir: Path) -> list[Any]:
    """The tune's held-out rows (its seed and holdout share over the profile's rows)."""
    from shapeprof.bench.inputs import profile_texts
    from shapeprof.bench.profile_view import profile_view

    options = json.loads((tune_dir / "tune.json").read_text())["options"]
    texts = profile_texts(profile_view(model_dir / "profile.json"))
    n = len(texts)
    held = int(round(n * options["holdout"]))
    order = np.random.default_rng(options["seed"]).permutation(n)
    return texts.take(np.sort(order[:held])).inputs()


def load_serve(tune_dir: Path) -> Any:
    spec = importlib.util.spec_from_file_location("tuned_serve", tune_dir / "serve.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def usual_way(model_dir: Path) -> Any:
    """serve(texts) the usual way: default session, batches of 32 in data order, padding=True."""
    import onnxruntime as ort
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    session = ort.InferenceSession(str(model_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}

    def serve(texts: list[Any]) -> np.ndarray:
        out = []
        for start in range(0, len(texts), BASELINE_BATCH):
            enc = tok(texts[start:start + BASELINE_BATCH], padding=True, truncation=True, return_tensors="np")
            feeds = {k: v.astype(np.int64) for k, v in enc.items() if k in names}
            hidden = session.run(None, feeds)[0]
            mask = enc["attention_mask"][..., None].astype(hidden.dtype)
            out.append((hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9))
        return np.concatenate(out)

    return serve, tok


def timed(call: Any) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def measure(model_dir: Path, tune_dir: Path, rounds: int) -> dict[str, Any]:
    from shapeprof.bench.paired import paired_speedup

    texts = held_out_texts(model_dir, tune_dir)
    module = load_serve(tune_dir)
    loaded = module.load(tune_dir)
    winner = lambda: module.serve(texts, loaded)  # noqa: E731
    base, tok = usual_way(model_dir)
    baseline = lambda: base(texts)  # noqa: E731
    tokenize = lambda: tok(texts, truncation=True, max_length=loaded[0]["max_length"])  # noqa: E731
    a, b = winner(), baseline()        # also the warm-up
    agree = float(np.min(np.sum(a * b, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)))
    walls: dict[str, list[float]] = {"baseline": [], "winner": [], "tokenize": []}
    for r in range(rounds):
        for name in (("baseline", "winner", "tokenize") if r % 2 == 0 else ("tokenize", "winner", "baseline")):
            walls[name].append(timed({"baseline": baseline, "winner": winner, "tokenize": tokenize}[name]))
    ratio = paired_speedup(np.array(walls["baseline"]), np.array(walls["winner"]))
    share = np.array(walls["tokenize"]) / np.array(walls["winner"])
    return {"rows": len(texts), "rounds": rounds,
            "baseline_seq_per_s": len(texts) / float(np.median(walls["baseline"])),
            "winner_seq_per_s": len(texts) / float(np.median(walls["winner"])),
            "speedup": {"ratio": ratio.ratio, "low": ratio.low, "high": ratio.high},
            "tokenize_share_of_winner": float(np.median(share)),
            "min_cosine_winner_vs_baseline": agree, "walls_s": walls, "load_average": os.getloadavg()}


def main() -> int:
    args = tuned_args(__doc__)
    if args is None:
        return 2
    model_dir, tune_dir = args.work_dir / "minilm-feature-extraction", args.work_dir / "tune-minilm"
    got = measure(model_dir, tune_dir, args.rounds)
    s = got["speedup"]
    print(json.dumps({k: v for k, v in got.items() if k != "walls_s"}, indent=2))
    print(f"end to end (texts in, pooled embeddings out), {got['rows']} held-out rows: winner "
          f"{got['winner_seq_per_s']:,.0f} seq/s, usual way {got['baseline_seq_per_s']:,.0f} seq/s; "
          f"{s['ratio']:.2f}x (95% {s['low']:.2f}-{s['high']:.2f}, {args.rounds} paired rounds); tokenization "
          f"{got['tokenize_share_of_winner']:.1%} of the winner's time")
    if args.output:
        args.output.write_text(json.dumps(got, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
