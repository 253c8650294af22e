"""shapeprof.accuracy without models: metrics against known values, bootstrap, data checks,
calibration rows disjoint from accuracy rows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shapeprof.accuracy import Metric, VariantScore, load_accuracy_data
from shapeprof.accuracy import metrics
from shapeprof.accuracy.bootstrap import estimate, paired_drop, resample
from shapeprof.accuracy.defaults import classifier_task
from shapeprof.bench.calibration import calibration_rows
from shapeprof.errors import DataError

ALL = np.arange(5)[None]


def test_spearman_matches_known_values_with_ties():
    # scipy.stats.spearmanr([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) -> 0.8207826816681233 (scipy's docs)
    assert metrics.spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7], scale=1)(ALL)[0] == pytest.approx(0.8207826816681233)
    assert metrics.spearman([1, 2, 3, 4, 5], [5, 4, 3, 2, 1])(ALL)[0] == pytest.approx(-100.0)


def test_spearman_agrees_with_scipy_on_random_rows():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 6, 40), rng.normal(size=40)       # many ties in x
    idx = resample(40, seed=3, reps=4)
    got = metrics.spearman(x, y, scale=1)(idx)
    assert got == pytest.approx([spearmanr(x[i], y[i]).statistic for i in idx])


def test_f1_accuracy_perplexity_known_values():
    pred, gold = np.array([1, 1, 0, 1, 0]), np.array([1, 0, 0, 1, 1])
    assert metrics.f1(pred, gold)(ALL)[0] == pytest.approx(2 / 3)          # TP 2, FP 1, FN 1
    assert metrics.accuracy(pred, gold)(ALL)[0] == pytest.approx(0.6)
    assert metrics.perplexity(np.array([2.0, 4.0]), np.array([1, 3]))(np.arange(2)[None])[0] == \
        pytest.approx(math.exp(1.5))
    assert metrics.ratio(np.array([1, 3]), np.array([2, 2]))(np.array([[1, 1]]))[0] == 1.5


def test_bootstrap_interval_contains_the_value_and_is_seeded():
    rng = np.random.default_rng(0)
    gold = rng.normal(size=300)
    pred = gold + rng.normal(scale=0.5, size=300)
    idx = resample(300, seed=7)
    m = estimate("spearman x100", metrics.spearman(pred, gold), idx)
    assert m.low < m.value < m.high and m.n == 300 and 70 < m.value < 95
    assert estimate("spearman x100", metrics.spearman(pred, gold), resample(300, seed=7)) == m
    assert estimate("spearman x100", metrics.spearman(pred, gold), resample(300, seed=8)) != m


def test_paired_drop_is_zero_for_identical_variants_and_signed_by_direction():
    rng = np.random.default_rng(0)
    gold = rng.normal(size=200)
    ref = metrics.spearman(gold + rng.normal(scale=0.3, size=200), gold)
    idx = resample(200, seed=0)
    same = paired_drop("spearman x100", ref, ref, idx)
    assert (same.value, same.low, same.high) == (0.0, 0.0, 0.0)
    assert same.name == "spearman x100 drop" and not same.higher_is_better
    worse = metrics.spearman(gold + rng.normal(scale=1.0, size=200), gold)
    assert paired_drop("spearman x100", ref, worse, idx).value > 0
    # perplexity: lower is better, so a higher perplexity is a positive drop
    ppl_ref, ppl_var = metrics.perplexity(np.ones(200), np.ones(200)), metrics.perplexity(2 * np.ones(200), np.ones(200))
    assert paired_drop("perplexity", ppl_ref, ppl_var, idx, higher_is_better=False).value == pytest.approx(math.e ** 2 - math.e)


def test_paired_drop_interval_is_narrower_than_unpaired():
    """Pairing removes the shared row-sampling noise: the drop's interval is much narrower than
    either metric's."""
    rng = np.random.default_rng(2)
    gold = rng.normal(size=500)
    base = gold + rng.normal(scale=0.7, size=500)
    ref, var = metrics.spearman(base, gold), metrics.spearman(base + rng.normal(scale=0.05, size=500), gold)
    idx = resample(500, seed=0)
    drop, alone = paired_drop("s", ref, var, idx), estimate("s", var, idx)
    assert (drop.high - drop.low) < (alone.high - alone.low) / 4


def test_results_round_trip():
    m = Metric("accuracy", 0.9, 0.88, 0.92, 872)
    score = VariantScore("static-int8", m, Metric("accuracy drop", 0.01, 0.0, 0.02, 872, False),
                         Metric("label agreement", 0.98, 0.97, 0.99, 872))
    assert VariantScore.from_dict(score.to_dict()) == score
    assert VariantScore.from_dict(VariantScore("onnx", m, None, None).to_dict()).drop is None
    assert m.format() == "0.90 [0.88, 0.92]"


def test_default_embedding_data_is_stsb_dev_with_gold_scores(glue_dir):
    data = load_accuracy_data(None, "embedding", data_dir=glue_dir)
    assert (data.name, len(data), data.metric) == ("glue/stsb validation", 1500, "spearman x100")
    assert data.texts.is_pair and data.labels.min() >= 0 and data.labels.max() <= 5
    assert data.indices == tuple(range(1500))


def test_classifier_data_sampled_and_metric_from_task(glue_dir):
    data = load_accuracy_data("glue/sst2", "classifier", rows=100, seed=3, data_dir=glue_dir)
    assert len(data) == 100 and list(data.indices) == sorted(data.indices) and data.metric == "accuracy"
    assert set(np.unique(data.labels)) <= {0.0, 1.0}
    assert load_accuracy_data("glue/mrpc", "classifier", data_dir=glue_dir).metric == "f1"
    text = load_accuracy_data(None, "generative", data_dir=glue_dir)
    assert text.labels is None and len(text) == 256 and text.metric == "perplexity"


def test_classifier_default_follows_the_model_labels():
    assert classifier_task({"id2label": {"0": "NEGATIVE", "1": "POSITIVE"}}) == "glue/sst2"
    assert classifier_task({"id2label": {"0": "unacceptable", "1": "acceptable"}}) == "glue/cola"
    assert classifier_task({"id2label": {"0": "entailment", "1": "neutral", "2": "contradiction"}}) == "glue/mnli"
    assert classifier_task({"id2label": {"0": "LABEL_0"}}) == "glue/stsb"          # one output: regression
    assert classifier_task({"id2label": {"0": "LABEL_0", "1": "LABEL_1"}}) == "glue/sst2"


@pytest.mark.parametrize("content, kind, message", [
    ("sentence\nfine film\nbad film\n", "classifier", "has no label column"),
    ("sentence\tlabel\nfine film\t1\n", "embedding", "sentence pairs with a similarity score"),
    ("sentence1\tsentence2\tlabel\na\tb\tabc\n", "embedding", "holds 'abc' at row 0, not a number"),
    ("sentence\tlabel\na\t-1\nb\t-1\n", "classifier", "no gold labels"),
])
def test_bad_accuracy_data_is_a_one_line_error(tmp_path, content, kind, message):
    path = tmp_path / "data.tsv"
    path.write_text(content)
    with pytest.raises(DataError, match=message) as info:
        load_accuracy_data(path, kind)
    assert "\n" not in str(info.value) and str(info.value).startswith("data error: ")


def test_classifier_labels_must_fit_the_head(glue_dir, tmp_path):
    from shapeprof.accuracy.data import check_labels_fit

    data = load_accuracy_data("glue/sst2", "classifier", rows=20, data_dir=glue_dir)
    check_labels_fit(data.labels, data.metric, 2, data.name)
    with pytest.raises(DataError, match="labels 0..1 but the model's head has 1 output"):
        check_labels_fit(data.labels, data.metric, 1, data.name)


def test_calibration_rows_are_disjoint_from_accuracy_rows(glue_dir):
    scored = load_accuracy_data("glue/sst2", "classifier", rows=600, seed=1, data_dir=glue_dir)
    calib = calibration_rows("glue/sst2", rows=200, seed=1, exclude=scored, data_dir=glue_dir)
    assert len(calib) == 200 and calib.excluded == 600 and calib.rows_total == 872
    assert not set(calib.indices) & set(scored.indices)
    assert calib.source_key == scored.source_key
    # another dataset shares no rows: nothing excluded
    stsb = load_accuracy_data(None, "embedding", rows=50, data_dir=glue_dir)
    assert calibration_rows("glue/sst2", rows=10, exclude=stsb, data_dir=glue_dir).excluded == 0


def test_calibration_refuses_when_accuracy_takes_every_row(glue_dir):
    scored = load_accuracy_data("glue/sst2", "classifier", data_dir=glue_dir)
    with pytest.raises(DataError, match="none is left to calibrate on"):
        calibration_rows("glue/sst2", rows=10, exclude=scored, data_dir=glue_dir)
