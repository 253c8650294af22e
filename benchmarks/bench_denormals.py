"""What flushing denormal floats to zero buys, in onnxruntime and PyTorch, by batch content.

    .venv/bin/python benchmarks/bench_denormals.py [--lengths 55,128] [--batch-size 32] [--calls 3] [--rounds 3]

For each padded length it builds three batches of SST-2 dev rows: the rows closest to that
length ("full": the least padding the data allows), rows around the median length ("median"),
and the shortest rows ("short"). Each batch runs in an onnxruntime session with and without
``session.set_denormal_as_zero`` and in PyTorch eager with and without
``torch.set_flush_denormal``. Each round times every setup in its own block (a warm-up call,
then ``--calls`` calls per batch), so drift hits all setups alike while one runtime's idle
threads do not compete with the other's; ``--rounds`` rounds (default 3). Prints the median ms per (runtime, setting, batch) and the speedup of flushing.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from bench_common import add_common_args, model_dirs, sst2_texts


def batches(tokenizer, texts: list[str], length: int, size: int) -> dict[str, dict[str, np.ndarray]]:
    lengths = np.array([len(ids) for ids in tokenizer(texts)["input_ids"]])
    order = np.argsort(np.abs(lengths - length), kind="stable")      # closest to the length first
    middle = np.argsort(np.abs(lengths - np.median(lengths)), kind="stable")
    picks = {"full": order[:size], "median": middle[:size], "short": np.argsort(lengths)[:size]}
    out = {}
    for name, rows in picks.items():
        enc = tokenizer([texts[i] for i in rows], padding="max_length", truncation=True,
                        max_length=length, return_tensors="np")
        out[name] = {k: v.astype(np.int64) for k, v in enc.items()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--lengths", default="55,128")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--calls", type=int, default=3, help="timed calls per batch, setup and round")
    args = parser.parse_args()

    import onnxruntime as ort
    import torch
    from transformers import AutoModel, AutoTokenizer

    from shapeprof.bench.runner import physical_cores

    model_dir, torch_dir = model_dirs(args)
    threads = args.threads or physical_cores()
    torch.set_num_threads(threads)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    module = AutoModel.from_pretrained(torch_dir).eval()

    def session(flush: bool):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        if flush:
            options.add_session_config_entry("session.set_denormal_as_zero", "1")
        return ort.InferenceSession(str(model_dir / "model.onnx"), options,
                                    providers=["CPUExecutionProvider"])

    sessions = {False: session(False), True: session(True)}
    names = [i.name for i in sessions[False].get_inputs()]

    def run(runtime: str, flush: bool, feeds: dict[str, np.ndarray]) -> float:
        t0 = time.perf_counter()
        if runtime == "onnxruntime":
            sessions[flush].run(None, {k: feeds[k] for k in names})
        else:
            torch.set_flush_denormal(flush)
            with torch.inference_mode():
                module(**{k: torch.from_numpy(v) for k, v in feeds.items()})
            torch.set_flush_denormal(False)
        return (time.perf_counter() - t0) * 1000.0

    texts = sst2_texts()
    print("| length | rows | real tokens/row | runtime | kept ms | flushed ms | flushed speedup |")
    print("|---|---|---:|---|---:|---:|---:|")
    for length in (int(x) for x in args.lengths.split(",")):
        feeds = batches(tokenizer, texts, length, args.batch_size)
        setups = [(rt, flush) for rt in ("onnxruntime", "pytorch") for flush in (False, True)]
        times: dict[tuple, list[float]] = {(*k, name): [] for k in setups for name in feeds}
        for _ in range(args.rounds):
            for rt, flush in setups:      # a block per setup: the other runtime's threads go idle
                for name, f in feeds.items():
                    run(rt, flush, f)     # warm-up
                    times[rt, flush, name] += [run(rt, flush, f) for _ in range(args.calls)]
        for name, f in feeds.items():
            real = f["attention_mask"].sum(1).mean()
            for rt in ("onnxruntime", "pytorch"):
                kept, flushed = np.median(times[rt, False, name]), np.median(times[rt, True, name])
                print(f"| {length} | {name} | {real:.1f} | {rt} | {kept:.1f} | {flushed:.1f} | "
                      f"{kept / flushed:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
