"""One module per CLI verb: ``add_parser(subparsers)`` and a ``run(args) -> int``."""

from __future__ import annotations


def quiet_libraries() -> None:
    """Keep library chatter (load bars, info logs) off the CLI's stderr, which carries our errors."""
    import warnings

    import datasets
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    datasets.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
