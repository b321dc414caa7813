"""Report and plots: exact PR-vs-threshold arrays, report rows and columns, determinism."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from prodembed import plots, seed_study
from prodembed.comparison import RunDetails
from prodembed.report import build_report, report_table
from sklearn.metrics import roc_auc_score

LABELS = np.array([1, 0, 1, 1, 0])


@pytest.mark.parametrize(
    "scores", [np.array([0.9, 0.8, 0.7, 0.4, 0.3]), np.array([0.9, 0.8, 0.7, 0.7, 0.3])]
)
def test_pr_threshold_arrays_are_aligned(scores):
    thresholds, precision, recall = plots.pr_threshold_points(LABELS, scores)
    assert len(thresholds) == len(precision) == len(recall)
    np.testing.assert_array_equal(thresholds, np.unique(scores))
    for t, p, r in zip(thresholds, precision, recall, strict=True):
        predicted = scores >= t
        true_positives = (predicted & (LABELS == 1)).sum()
        assert p == pytest.approx(true_positives / predicted.sum())
        assert r == pytest.approx(true_positives / LABELS.sum())


def test_pr_threshold_hand_values():
    thresholds, precision, recall = plots.pr_threshold_points(
        LABELS, np.array([0.9, 0.8, 0.7, 0.4, 0.3])
    )
    np.testing.assert_allclose(thresholds, [0.3, 0.4, 0.7, 0.8, 0.9])
    np.testing.assert_allclose(precision, [3 / 5, 3 / 4, 2 / 3, 1 / 2, 1])
    np.testing.assert_allclose(recall, [1, 1, 2 / 3, 1 / 3, 1 / 3])


def test_model_plots_are_written(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "label": np.repeat([1, 0], 50),
            "score": rng.random(100),
            "covered": True,
            "seen": rng.random(100) < 0.7,
        }
    )
    scored = {"uniform": frame, "degree_matched": frame}
    assert plots.plot_roc(scored, tmp_path / "roc.png", "ds / m").stat().st_size > 0
    assert plots.plot_pr_threshold(scored, tmp_path / "pr.png", "ds / m").stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pr.png", "roc.png"]


def fake_metrics() -> list[dict]:
    def cell(dataset, model, base, **overrides):
        m = {
            "dataset": dataset,
            "model": model,
            "auc_all": base,
            "auc_seen": base + 0.01,
            "auc_all_dm": base - 0.2,
            "auc_seen_dm": base - 0.19,
            "coverage": 0.9,
            "auc_cold_dm": 0.5,
            "n_pairs_dm": 100,
            "n_seen_pairs_dm": 90,
            "pr_auc": base,
            "recall_at_10": base / 4,
            "ndcg_at_10": base / 8,
            "train_seconds": 120.0,
            "peak_rss_mb": 512.0,
            "device": "cpu",
        }
        return {**m, **overrides}

    return [
        cell("electronics", "degree", 0.85, train_seconds=0.01),
        cell("electronics", "gensim_w2v", 0.95, auc_cold_dm=0.81),
        cell("books", "degree", 0.8, auc_all_dm=None, auc_seen_dm=None),
        {"dataset": "books", "model": "gensim_w2v", "auc_all": 0.9},  # most keys missing
    ]


REQUIRED = [
    "dataset",
    "model",
    "auc_all",
    "auc_seen",
    "auc_all_dm",
    "auc_seen_dm",
    "coverage",
    "pr_auc",
    "recall_at_10",
    "ndcg_at_10",
    "train_minutes",
    "train_seconds",
    "peak_rss_mb",
    "device",
    "study_auc_all",
    "study_auc_seen",
    "study_minutes",
]


def write(tmp_path, metrics, name="out"):
    out = tmp_path / name
    meta = {"datasets": ["electronics", "books"], "models": ["degree", "gensim_w2v"]}
    build_report(metrics, out / "report.md", out / "report.csv", out / "report_plots", meta)
    return out


def test_report_rows_columns_and_study_numbers(tmp_path):
    out = write(tmp_path, fake_metrics())
    csv = pd.read_csv(out / "report.csv")
    assert set(REQUIRED) <= set(csv.columns)
    assert list(zip(csv.dataset, csv.model, strict=True)) == [
        ("electronics", "degree"),
        ("electronics", "gensim_w2v"),
        ("books", "degree"),
        ("books", "gensim_w2v"),
    ]
    gensim = csv.set_index(["dataset", "model"]).loc[("electronics", "gensim_w2v")]
    assert (gensim.study_auc_all, gensim.study_auc_seen, gensim.study_minutes) == (
        0.9082,
        0.9735,
        2.58,
    )
    assert gensim.train_minutes == 2.0
    assert csv.loc[3, ["auc_seen", "train_minutes", "device"]].isna().all()
    assert csv.loc[[0, 2], "study_auc_all"].isna().all()  # the study had no degree baseline

    md = (out / "report.md").read_text()
    for text in ("## electronics", "## books", "study AUC all", "study minutes", "–"):
        assert text in md
    assert "Degree-matched negatives" in md and "Uniform negatives" in md
    assert "0.9327" in md  # the EGES reference beside Electronics
    assert "![AUC per model and dataset (bars: 95% interval)](report_plots/auc_by_model.png)" in md
    assert (out / "report_plots" / "auc_by_model.png").is_file()
    assert (out / "report_plots" / "time_vs_auc.png").is_file()


def test_report_ranks_by_degree_matched_seen_auc(tmp_path):
    md = (write(tmp_path, fake_metrics()) / "report.md").read_text()
    electronics = md.split("## electronics")[1].split("## books")[0]
    assert electronics.index("| 1 | `gensim_w2v`") < electronics.index("| 2 | `degree`")
    # Without per-pair details no paired test is possible: an order, not a verdict.
    assert "Ranked by degree-matched seen-only AUC: `gensim_w2v` (0.7600), `degree`" in md
    assert (
        "Cold pairs (a product without training edges) are 10.0% of the degree-matched pairs; "
        "best AUC on them: `gensim_w2v` (0.8100)" in electronics
    )


def details_of(scores: np.ndarray, labels: np.ndarray, hits: np.ndarray) -> RunDetails:
    pairs = pd.DataFrame(
        {"protocol": "degree_matched", "label": labels, "seen": True, "score": scores}
    )
    queries = pd.DataFrame({"query": np.arange(len(hits)), "hit": hits, "dcg": hits / 2})
    return RunDetails(pairs, queries)


def ranked_cells(names_scores, labels, replicates=1):
    """Metrics and paired details for models given their per-pair scores per replicate."""
    metrics, details = [], {}
    for name, runs in names_scores.items():
        for r, scores in enumerate(runs[:replicates]):
            auc = roc_auc_score(labels, scores)
            metrics.append({"dataset": "electronics", "model": name, "replicate": r,
                            "auc_seen_dm": auc, "auc_seen_dm_lo": auc - 0.01,
                            "auc_seen_dm_hi": auc + 0.01})  # fmt: skip
            hits = (scores[labels == 1] > 0.5).astype(float)
            details.setdefault(("electronics", name), []).append(details_of(scores, labels, hits))
    return metrics, details


def test_report_writes_tie_for_a_difference_inside_the_noise(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.repeat([1, 0], 500)
    base = rng.normal(size=1000) + labels
    noise = [rng.normal(size=1000) for _ in range(3)]
    runs = {
        "torch_w2v": [base + 0.05 * n for n in noise],
        "node2vec": [base + 0.05 * n[::-1] for n in noise],  # the same model, other noise
        "degree": [rng.normal(size=1000) + 0.3 * labels for _ in noise],  # clearly worse
    }
    metrics, details = ranked_cells(runs, labels, replicates=3)
    out = tmp_path / "ties"
    build_report(metrics, out / "r.md", out / "r.csv", out / "p", {}, details=details)
    md = (out / "r.md").read_text()
    line = next(x for x in md.splitlines() if x.startswith("- Ranked by degree-matched"))
    assert " = (p " in line and line.count(" > ") == 1
    assert line.index(" > ") > line.index(" = (p ")  # the tie on top, then the clear gap
    assert "| 1= |" in md and "| 3 | `degree`" in md
    csv = pd.read_csv(out / "r.csv").set_index("model")
    assert (csv["n_replicates"] == 3).all() and csv["auc_seen_dm_sd"].notna().all()


def test_report_is_deterministic(tmp_path):
    metrics = fake_metrics()
    first = write(tmp_path, metrics, "first")
    random.Random(1).shuffle(metrics)
    second = write(tmp_path, metrics, "second")
    for name in ("report.md", "report.csv", "report_plots/auc_by_model.png"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_report_survives_empty_and_unknown_input(tmp_path):
    out = tmp_path / "empty"
    build_report([], out / "r.md", out / "r.csv", out / "plots", {})
    assert "No results" in (out / "r.md").read_text() and (out / "plots").is_dir()
    table = report_table([{"dataset": "synthetic_small", "model": "new_model"}])
    assert table.loc[0, ["auc_all", "study_auc_all"]].isna().all()


def test_seed_study_numbers_are_keyed_by_our_models():
    assert seed_study.study_dataset("electronics") == "Electronics"
    assert seed_study.study_dataset("books_2014") == "Books"
    assert seed_study.study_dataset("synthetic") is None
    assert seed_study.study_result("Electronics", "torch_w2v").auc_seen == 0.9855
    assert seed_study.study_result("Electronics", "node2vec").note == "did not finish"
    assert seed_study.study_result("Books", "mf_bias").minutes == 1353.0
    assert "CBOW" in seed_study.study_result("Books", "gensim_w2v").note
    assert seed_study.study_result("Electronics", "degree") is None
    assert (seed_study.EGES.base_auc, seed_study.EGES.side_info_auc) == (0.9327, 0.970)


def test_report_shows_how_each_neighbour_list_was_searched(tmp_path):
    indexes = {
        ("electronics", "degree"): {"kind": "flat", "recall_at_k": 1.0},
        ("electronics", "gensim_w2v"): {"kind": "ivf", "recall_at_k": 0.9581},
    }
    out = tmp_path / "idx"
    meta = {"datasets": ["electronics", "books"]}
    build_report(fake_metrics(), out / "r.md", out / "r.csv", out / "p", meta, indexes=indexes)
    md = (out / "r.md").read_text()
    assert "`gensim_w2v` (ivf, recall@k 0.958)" in md and "`degree` (exact)" in md
    csv = pd.read_csv(out / "r.csv").set_index(["dataset", "model"])
    assert csv.loc[("electronics", "gensim_w2v"), "index_recall"] == 0.9581
    assert pd.isna(csv.loc[("books", "degree"), "index_kind"])
