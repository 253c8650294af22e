"""Dataset resolution (GLUE layout, Hub/cache, local files) and seeded sampling of texts."""

from .glue import GLUE_TASKS, GlueTask, glue_task
from .load import iter_texts, load_texts, stream_sample
from .rows import TextRows
from .sampling import Reservoir, sample_indices
from .source import DATA_DIR_ENV, DatasetSpec, ResolvedDataset, reopen, resolve_dataset

__all__ = ["DATA_DIR_ENV", "GLUE_TASKS", "DatasetSpec", "GlueTask", "Reservoir", "ResolvedDataset",
           "TextRows", "glue_task", "iter_texts", "load_texts", "reopen", "resolve_dataset",
           "sample_indices", "stream_sample"]
