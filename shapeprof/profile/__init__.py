"""Shape profiling: token-length statistics, buckets, padding waste and the ShapeProfile."""

from .batches import pick_rows, real_batches
from .buckets import Bucket, BucketPlan, bucket_plan, optimal_edges, padded_tokens
from .padding import FIXED_LENGTH, InBatchPadding, PaddingWaste
from .pipeline import profile_dataset
from .recommend import Recommendations, ShapeRange, recommend
from .shape_profile import SCHEMA_VERSION, DatasetInfo, ShapeProfile
from .stats import AxisStats, axis_stats, percentile_from_counts
from .tokenize import LengthCounter, ModelInfo, load_tokenizer, model_max_length

__all__ = ["FIXED_LENGTH", "SCHEMA_VERSION", "AxisStats", "Bucket", "BucketPlan", "DatasetInfo",
           "InBatchPadding", "LengthCounter", "ModelInfo", "PaddingWaste", "Recommendations",
           "ShapeProfile", "ShapeRange", "axis_stats", "bucket_plan", "load_tokenizer",
           "model_max_length", "optimal_edges", "padded_tokens", "percentile_from_counts",
           "pick_rows", "profile_dataset", "real_batches", "recommend"]
