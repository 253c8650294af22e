"""How far can batching take tune's winner on this CPU? The winner against a padding-free ceiling.

    PYTHONPATH=. python benchmarks/tune_ceiling.py [--work-dir out/bench-work] [--rounds 8] [-o ceiling.json]

Reads what ``benchmarks/tune_minilm.py`` left in ``--work-dir``: the export
(``minilm-feature-extraction``) and the tuned folder (``tune-minilm``: the winner's graph and
deploy.json). On every SST-2 dev row, in paired rounds (order reversed every other round):

* the baseline (the exported float32 graph, onnxruntime's default session, pad-to-longest
  batches of 32 in arrival order, one session);
* the winner as deploy.json serves it (its graph, sessions, threads, batching, batch size);
* the **ceiling**: the winner's graph and sessions with no padding at all (rows grouped by their
  exact token length, then cut into batches), at batch sizes 4, 8, 16 and 32.

No batching policy can compute fewer positions than the ceiling, so its best ratio over the
baseline bounds what any policy, window or batch size gives this graph and thread layout here.
Each ratio is the geometric mean of the rounds' paired ratios with its 95% t interval.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from bench_common import REPO, sst2_texts
from tuned_args import tuned_args

sys.path.insert(0, str(REPO))

CEILING_BATCHES = (4, 8, 16, 32)


def exact_plan(lengths: np.ndarray, batch_size: int) -> list[tuple[np.ndarray, int]]:
    """Rows grouped by exact length, shortest first, in batches of ``batch_size``: no padding."""
    out = []
    for length in np.unique(lengths):
        rows = np.flatnonzero(lengths == length)
        out += [(rows[i:i + batch_size], int(length)) for i in range(0, len(rows), batch_size)]
    return out


def configs(work: Path, lengths: np.ndarray) -> dict[str, tuple[list, object]]:
    """name -> (sessions, plan) for the baseline, the winner and each ceiling batch size."""
    from shapeprof.tune.batching import Batching, plan
    from shapeprof.tune.measure import SessionSpec, open_session

    deploy = json.loads((work / "tune-minilm" / "deploy.json").read_text(encoding="utf-8"))
    graph = work / "tune-minilm" / deploy["model_file"]
    threads = int(deploy["session_options"]["intra_op_num_threads"])
    winner = [open_session(graph, SessionSpec(threads=threads)) for _ in range(int(deploy["sessions"]))]
    baseline = [open_session(work / "minilm-feature-extraction" / "model.onnx", SessionSpec(default=True))]
    out = {"baseline": (baseline, plan(lengths, Batching("longest"), 32)),
           "winner": (winner, plan(lengths, Batching.from_dict(deploy["batching"]), int(deploy["batch_size"])))}
    for b in CEILING_BATCHES:
        out[f"ceiling b{b}"] = (winner, exact_plan(lengths, b))
    return out


def tokenized(work: Path) -> tuple[dict[str, list[list[int]]], np.ndarray, int]:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(work / "tune-minilm")
    enc = tok(sst2_texts(), truncation=True, max_length=512)
    ids = {k: v for k, v in enc.items() if k in tok.model_input_names}
    return ids, np.array([len(r) for r in ids["input_ids"]]), int(tok.pad_token_id or 0)


def main() -> int:
    args = tuned_args(__doc__)
    if args is None:
        return 2
    from shapeprof.bench.paired import paired_speedup
    from shapeprof.tune.serve import build_feeds, run_pass

    ids, lengths, pad_id = tokenized(args.work_dir)
    runs = configs(args.work_dir, lengths)
    feeds = {name: build_feeds(ids, batches, pad_id, lambda f: f) for name, (_, batches) in runs.items()}
    names = list(runs)
    for name in names:                                   # warm every session on every shape once
        for s in runs[name][0]:
            for f in feeds[name]:
                s.run(None, f)
    walls: dict[str, list[float]] = {n: [] for n in names}
    for r in range(args.rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            walls[name].append(run_pass(runs[name][0], feeds[name])[0].wall_s)
        print(f"round {r + 1}/{args.rounds}", file=sys.stderr)
    base = np.array(walls["baseline"])
    rows = len(lengths)
    got = {"rows": rows, "mean_tokens": float(lengths.mean()), "rounds": args.rounds, "configs": {}}
    for name in names:
        w = np.array(walls[name])
        s = paired_speedup(base, w)
        got["configs"][name] = {"sequences_per_s": rows / float(np.median(w)),
                                "padded_positions": int(sum(len(i) * p for i, p in runs[name][1]) - lengths.sum()),
                                "over_baseline": [s.ratio, s.low, s.high]}
        print(f"{name:14s} {rows / np.median(w):7,.0f} seq/s  {s.ratio:5.2f}x (95% {s.low:.2f}-{s.high:.2f})  "
              f"padding {got['configs'][name]['padded_positions']:,} positions")
    best = max((n for n in names if n.startswith("ceiling")), key=lambda n: got["configs"][n]["over_baseline"][0])
    got["ceiling"] = {"config": best, **got["configs"][best]}
    print(f"ceiling: {best}, {got['ceiling']['over_baseline'][0]:.2f}x the baseline")
    if args.output:
        args.output.write_text(json.dumps(got, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
