"""Export and verify every registered (architecture, task) from tiny models; print a markdown table.

    python benchmarks/export_matrix.py [--model-types bert,roberta]

Times are wall-clock seconds of the torch.onnx conversion (not verification) on this machine;
"generation" gives, for generation tasks, the greedy tokens (of 20) that onnxruntime decoding
matched transformers' generate at batch 1 and at batch 3.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-types", default=None, help="comma-separated subset")
    args = parser.parse_args()

    from shapeprof.commands import quiet_libraries
    from shapeprof.export import export
    from shapeprof.onnx.builtin import default_registry
    from shapeprof.testing.tiny import tiny_model

    quiet_libraries()
    reg = default_registry()
    wanted = args.model_types.split(",") if args.model_types else list(reg)
    print("| model type | task | files | export s | total s | verified | max abs diff | generation |")
    print("|---|---|---|---:|---:|---|---:|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for mt in wanted:
            for task in reg.tasks(mt):
                start = time.perf_counter()
                result = export(tiny_model(mt, task), Path(tmp) / f"{mt}-{task}", task=task)
                total = time.perf_counter() - start
                worst = max(o.max_abs_diff for c in result.verification.checks for o in c.outputs)
                generated = ", ".join(f"{c.matching_tokens}/{c.new_tokens}" for c in result.generation) or "-"
                files = " + ".join(p.file for p in result.parts)
                print(f"| {mt} | {task} | {files} | {result.export_seconds:.1f} | {total:.1f} | "
                      f"{'yes' if result.verification.passed else 'NO'} | {worst:.1e} | {generated} |",
                      flush=True)


if __name__ == "__main__":
    main()
