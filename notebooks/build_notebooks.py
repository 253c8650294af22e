"""Writes the notebooks in this folder (sources only, no outputs): python build_notebooks.py"""
from pathlib import Path

import nbformat as nbf

PARAMS = '''# Parameters: the results file to analyse (shapeprof bench -o, or bench.json of export --bench).
# The default is the file the test suite writes from a tiny model, so this notebook runs anywhere.
import os
RESULTS = os.environ.get("SHAPEPROF_RESULTS", "../tests/fixtures/report/bench-text.json")'''

SETUP = '''%matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
from shapeprof.bench import BenchResults

results = BenchResults.load(RESULTS)
df = results.to_dataframe()
print(results.model["model_type"], results.model["task"], "-", len(df), "cells;",
      results.environment["intra_op_threads"], "threads on", results.environment["cpu"])
df[["variant", "batch_size", "sequence_length", "p50_ms", "p90_ms", "sequences_per_s"]].head(12)'''

latency = [
    nbf.v4.new_markdown_cell("# Latency per axis size\n\nHow latency grows with sequence length at each batch size, the batch x length grid, and where onnxruntime beats PyTorch eager."),
    nbf.v4.new_code_cell(PARAMS, metadata={"tags": ["parameters"]}),
    nbf.v4.new_code_cell(SETUP),
    nbf.v4.new_markdown_cell("## Latency vs sequence length, one line per batch size"),
    nbf.v4.new_code_cell('''variants = sorted(df["variant"].unique())
fig, axes = plt.subplots(1, len(variants), figsize=(5 * len(variants), 3.5), squeeze=False, sharey=True)
for ax, variant in zip(axes[0], variants):
    part = df[df["variant"] == variant]
    for batch, rows in part.groupby("batch_size"):
        rows = rows.sort_values("sequence_length")
        ax.plot(rows["sequence_length"], rows["p50_ms"], marker="o", label=f"batch {batch}")
        ax.fill_between(rows["sequence_length"], rows["p50_ms"], rows["p90_ms"], alpha=0.2)
    ax.set(title=variant, xlabel="sequence length (tokens)", ylabel="p50 latency (ms), band to p90")
    ax.legend()
fig.tight_layout()
assert len(axes[0]) == len(variants)'''),
    nbf.v4.new_markdown_cell("## Batch x length heatmap (p50 ms)"),
    nbf.v4.new_code_cell('''variant = "onnx" if "onnx" in variants else variants[0]
grid = df[df["variant"] == variant].pivot(index="batch_size", columns="sequence_length", values="p50_ms")
fig, ax = plt.subplots(figsize=(1.2 * grid.shape[1] + 2, 0.8 * grid.shape[0] + 1.5))
image = ax.imshow(grid.values, cmap="viridis", aspect="auto")
ax.set_xticks(range(grid.shape[1]), grid.columns)
ax.set_yticks(range(grid.shape[0]), grid.index)
for (i, j), value in np.ndenumerate(grid.values):
    ax.text(j, i, f"{value:.3g}", ha="center", va="center", color="w", fontsize=8)
ax.set(xlabel="sequence length", ylabel="batch size", title=f"{variant}: p50 ms")
fig.colorbar(image)
grid'''),
    nbf.v4.new_markdown_cell("## onnxruntime vs PyTorch eager, per cell (speedup > 1: onnxruntime faster)"),
    nbf.v4.new_code_cell('''if "pytorch" in variants:
    speed = df[df["variant"] != "pytorch"].pivot_table(index=["batch_size", "sequence_length"],
                                                       columns="variant", values="speedup_vs_pytorch")
    ax = speed.plot.bar(figsize=(8, 3.5), ylabel="speedup vs PyTorch")
    ax.axhline(1.0, color="k", lw=0.8)
    display(speed.round(2))
else:
    print("no PyTorch cells in this run (bench --no-pytorch)")'''),
]

real = [
    nbf.v4.new_markdown_cell("# Latency on the real data\n\nThe dataset's length distribution against the latency curve, padding waste per policy, and the expected-latency model checked by replay."),
    nbf.v4.new_code_cell(PARAMS, metadata={"tags": ["parameters"]}),
    nbf.v4.new_code_cell(SETUP),
    nbf.v4.new_markdown_cell("## Length distribution overlaid on latency"),
    nbf.v4.new_code_cell('''profile = results.settings.get("profile") or {}
counts = {int(k): v for k, v in (profile.get("length_counts") or {}).items()}
fig, ax = plt.subplots(figsize=(7, 3.5))
if counts:
    ax.bar(list(counts), list(counts.values()), color="0.8", width=1.0, label="rows per length")
    ax.set(xlabel="sequence length (tokens)", ylabel="rows")
latency_ax = ax.twinx()
part = df[df["variant"] == df["variant"].iloc[0]]
for batch, rows in part.groupby("batch_size"):
    rows = rows.sort_values("sequence_length")
    latency_ax.plot(rows["sequence_length"], rows["p50_ms"], marker="o", label=f"batch {batch}")
latency_ax.set_ylabel("p50 latency (ms)")
latency_ax.legend(loc="upper right")
print("profile:", {k: profile.get(k) for k in ("rows", "p50", "p90", "p99", "bucket_edges")})'''),
    nbf.v4.new_markdown_cell("## Padding waste and expected throughput per policy"),
    nbf.v4.new_code_cell('''expected = results.expected_frame()
if len(expected):
    expected["pad_per_real_token"] = expected["padded_tokens"] / expected["real_tokens"]
    first = expected[expected["variant"] == expected["variant"].iloc[0]]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5))
    left.barh(first["label"], first["pad_per_real_token"])
    left.set(xlabel="padded tokens per real token", title="padding waste")
    for variant, rows in expected.groupby("variant"):
        right.plot(rows["label"], rows["sequences_per_s"], marker="o", label=variant)
    right.set(ylabel="sequences / s", title="expected throughput on the data")
    right.tick_params(axis="x", rotation=30)
    right.legend()
    fig.tight_layout()
    display(expected)
else:
    print("no expected-latency estimates (benchmark with a profile)")'''),
    nbf.v4.new_markdown_cell("## Predicted vs replayed latency"),
    nbf.v4.new_code_cell('''replays = results.replay_frame()
if len(replays):
    x = np.arange(len(replays))
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.bar(x - 0.2, replays["predicted_s"], width=0.4, label="predicted")
    ax.bar(x + 0.2, replays["measured_s"], width=0.4, label="replayed")
    ax.set_xticks(x, replays["label"], rotation=30, ha="right")
    ax.set(ylabel="seconds for the sample")
    ax.legend()
    display(replays[["label", "predicted_s", "measured_s", "error"]])
else:
    print("no replay in this run (bench --replay ROWS)")'''),
]

for name, cells in (("latency_per_axis.ipynb", latency), ("real_data.ipynb", real)):
    nb = nbf.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbf.write(nb, str(Path(__file__).resolve().parent / name))
