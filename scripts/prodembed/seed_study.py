"""The seed study's published numbers, as data keyed by this project's model keys.

Source: docs/STUDY.md ("Published results"). The study evaluated with uniform negatives
and scored cold pairs differently per model, so its "all products" AUCs compare with our
``auc_all`` only in protocol, not in cold-start policy; the report shows them side by side for
that reason, never merged.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StudyResult:
    """One published cell: AUCs on the validation pairs and training-loop minutes.

    None where the study reported nothing; ``note`` says why (run did not finish, code broken)
    or what differed from our model of the same key.
    """

    auc_all: float | None
    auc_seen: float | None
    minutes: float | None
    note: str | None = None


CBOW = "the study ran gensim as CBOW (sg unset), not skip-gram"

PUBLISHED: dict[str, dict[str, StudyResult]] = {
    "Electronics": {
        "mf": StudyResult(0.8083, None, 43.1),
        "mf_bias": StudyResult(0.7951, None, 44.9),
        "node2vec": StudyResult(None, None, None, "did not finish"),
        "gensim_w2v": StudyResult(0.9082, 0.9735, 2.58, CBOW),
        "torch_w2v": StudyResult(0.9554, 0.9855, 23.63),
        "torch_w2v_side_info": StudyResult(None, None, None, "broken"),
        "mf_sequences": StudyResult(0.9320, None, 70.39),
    },
    "Books": {
        "mf_bias": StudyResult(0.4996, None, 1353.0),
        "gensim_w2v": StudyResult(0.9701, 0.9892, 16.24, CBOW),
        "torch_w2v": StudyResult(0.9775, None, 122.66),
        "mf_sequences": StudyResult(0.7196, None, 1393.0),
    },
}
"""Study dataset -> model key -> published result (models it did not report are absent)."""


@dataclass(frozen=True)
class PaperReference:
    """Published AUCs the study compared itself with (same split protocol, other code).

    ``side_info_auc`` is approximate: the paper's figure is about 0.970.
    """

    dataset: str
    base_auc: float
    side_info_auc: float
    citation: str
    note: str


EGES = PaperReference(
    dataset="Electronics",
    base_auc=0.9327,
    side_info_auc=0.970,
    citation=(
        "Wang et al., Billion-scale Commodity Embedding for E-commerce Recommendation in "
        "Alibaba, KDD 2018"
    ),
    note=(
        "Amazon Electronics also_bought graph, 1/3 of edges held out, equal random non-edges as "
        "negatives, dim 160, 20 walks of length 10, window 5"
    ),
)


def study_dataset(dataset: str) -> str | None:
    """The study dataset a dataset key refers to ('electronics_2014' -> 'Electronics')."""
    matches = [name for name in PUBLISHED if name.lower() in dataset.lower()]
    return matches[0] if len(matches) == 1 else None


def study_result(dataset: str | None, model: str) -> StudyResult | None:
    """The published cell for a study dataset and model key, None where nothing was reported."""
    return PUBLISHED.get(dataset or "", {}).get(model)
