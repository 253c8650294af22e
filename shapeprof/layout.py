"""Every artifact's file name, in one place.

An export directory holds the graph(s), the transformers config and preprocessor
files, and shapeprof's own records; ``export --dataset --bench`` adds the profile
and the benchmark results beside them.
"""

from __future__ import annotations

# graphs
ONNX_FILE = "model.onnx"
ENCODER_FILE = "encoder_model.onnx"
DECODER_FILE = "decoder_model.onnx"

# transformers files read back by the bench and the PyTorch runner
CONFIG_FILE = "config.json"
PREPROCESSOR_FILE = "preprocessor_config.json"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
                "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt")

# shapeprof's records
EXPORT_RECORD = "shapeprof_export.json"
VERIFICATION_FILE = "verification.json"
GENERATION_FILE = "generation.json"
PROFILE_FILE = "profile.json"
BENCH_FILE = "bench.json"
BENCH_CSV = "bench.csv"
BENCH_SUMMARY = "bench.md"
REPORT_MD = "report.md"
REPORT_HTML = "report.html"     # plots and tables, one self-contained page

# the history of runs (shapeprof history): one SQLite database per project, and its report
HISTORY_DB = ".shapeprof/history.sqlite"    # default --db, relative to the working directory
HISTORY_HTML = "history.html"
HISTORY_MD = "history.md"

# bench variants, written in the bench's work directory
VARIANT_FILES = {
    "int8": "model-int8.onnx",
    "optimized": "model-optimized.onnx",
    "optimized-int8": "model-optimized-int8.onnx",
    "static-int8": "model-static-int8.onnx",
    "optimized-static-int8": "model-optimized-static-int8.onnx",
    "optimized-fastgelu": "model-optimized-fastgelu.onnx",
    "optimized-fastgelu-int8": "model-optimized-fastgelu-int8.onnx",
}

# shapeprof tune's output directory (export --tune puts it in OUTPUT_DIR/tune/)
TUNE_DIR = "tune"
TUNE_FILE = "tune.json"
TUNE_SUMMARY = "tune.md"
TUNE_HTML = "tune.html"       # tune.md as a page in the HTML report's style
DEPLOY_FILE = "deploy.json"
SERVE_SCRIPT = "serve.py"
