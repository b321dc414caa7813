"""Per-model curves (ROC, precision/recall vs threshold) and the report's comparison plots.

Figures are built as ``Figure`` objects on the Agg canvas (no pyplot global state, no display)
and written atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import auc, precision_recall_curve, roc_curve

from .runtime import atomic_path

MAX_POINTS = 2000
"""Points drawn per curve: millions of distinct scores would only bloat the PNG."""

PROTOCOL_LABELS = {"uniform": "uniform negatives", "degree_matched": "degree-matched negatives"}
AUC_BARS = {
    "auc_seen_dm": "seen only, degree-matched",
    "auc_seen": "seen only, uniform",
    "auc_all": "all pairs, uniform",
}


def roc_points(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates of the ROC curve."""
    fpr, tpr, _ = roc_curve(labels, scores)
    return fpr, tpr


def pr_threshold_points(labels, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(thresholds, precision, recall)`` aligned element by element.

    Element i is precision and recall when predicting positive for score >= thresholds[i].
    sklearn's ``precision_recall_curve`` returns precision and recall with one more element than
    thresholds (a final (1, 0) point with no threshold); the seed study plotted them against
    thresholds shifted by one. Dropping that last element aligns them.
    """
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    return thresholds, precision[:-1], recall[:-1]


def _thin(n: int) -> np.ndarray:
    """Evenly spaced indices (first and last kept) so a curve has at most MAX_POINTS points."""
    if n <= MAX_POINTS:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, MAX_POINTS).round().astype(np.int64))


def save_figure(fig: Figure, path) -> Path:
    path = Path(path)
    FigureCanvasAgg(fig)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, metadata={"Software": None})
    return path


def plot_roc(scored: dict[str, pd.DataFrame], path, title: str) -> Path:
    """ROC curves on all pairs and on seen-only pairs, for each protocol in ``scored``.

    ``scored`` maps a protocol to its scored pairs (``evaluate_details``: label, score, seen).
    """
    fig = Figure(figsize=(6, 5))
    ax = fig.add_subplot()
    for protocol, frame in scored.items():
        for subset, rows in (("all pairs", slice(None)), ("seen only", frame["seen"].to_numpy())):
            labels, scores = frame["label"].to_numpy()[rows], frame["score"].to_numpy()[rows]
            if len(labels) == 0 or labels.min() == labels.max():
                continue
            fpr, tpr = roc_points(labels, scores)
            keep = _thin(len(fpr))
            area = auc(fpr, tpr)  # the AUC, from the curve already drawn: no second sort
            name = f"{PROTOCOL_LABELS[protocol]}, {subset} (AUC {area:.4f})"
            ax.plot(fpr[keep], tpr[keep], label=name)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=f"ROC: {title}")
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_pr_threshold(scored: dict[str, pd.DataFrame], path, title: str) -> Path:
    """Precision and recall against the score threshold, one panel per protocol (all pairs)."""
    fig = Figure(figsize=(6 * max(len(scored), 1), 4.5))
    for i, (protocol, frame) in enumerate(scored.items()):
        ax = fig.add_subplot(1, len(scored), i + 1)
        labels = frame["label"].to_numpy()
        if labels.sum() > 0:
            thresholds, precision, recall = pr_threshold_points(labels, frame["score"].to_numpy())
            keep = _thin(len(thresholds))
            ax.plot(thresholds[keep], precision[keep], label="precision")
            ax.plot(thresholds[keep], recall[keep], label="recall")
            ax.legend(loc="best", fontsize="small")
        ax.set(xlabel="threshold (score >= t)", title=f"{title}: {PROTOCOL_LABELS[protocol]}")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_auc_bars(table: pd.DataFrame, path) -> Path:
    """Grouped bars of seen-only (degree-matched, uniform) and all-pairs AUC per model and dataset.

    ``table`` has one row per dataset x model (the report's table); missing values draw no bar.
    Error bars: the 95% interval (``<column>_lo``/``_hi``) where the table has one.
    """
    datasets = list(dict.fromkeys(table["dataset"]))
    fig = Figure(figsize=(max(6, 1.2 * table["model"].nunique() * len(datasets)), 4.5))
    values = table[list(AUC_BARS)].astype(float)
    bottom = min(0.4, np.nanmin(values.to_numpy(), initial=1.0) - 0.05)
    width = 0.8 / len(AUC_BARS)
    for i, dataset in enumerate(datasets):
        ax = fig.add_subplot(1, len(datasets), i + 1)
        rows = table[table["dataset"] == dataset]
        x = np.arange(len(rows))
        for j, (column, label) in enumerate(AUC_BARS.items()):
            offset = (j - (len(AUC_BARS) - 1) / 2) * width
            ax.bar(x + offset, rows[column].astype(float), width, label=label)
            if f"{column}_lo" in rows:
                _error_bars(ax, x + offset, rows, column)
        ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
        ax.set_xticks(x, rows["model"], rotation=35, ha="right", fontsize="small")
        ax.set(ylim=(bottom, 1.0), title=dataset, ylabel="AUC-ROC" if i == 0 else None)
    handles, labels = fig.axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(AUC_BARS), fontsize="small")
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    return save_figure(fig, path)


def _error_bars(ax, x, rows: pd.DataFrame, column: str) -> None:
    value = rows[column].to_numpy(dtype=float)
    lo, hi = rows[f"{column}_lo"].to_numpy(dtype=float), rows[f"{column}_hi"].to_numpy(dtype=float)
    yerr = np.vstack([value - lo, hi - value])
    ok = np.isfinite(yerr).all(axis=0) & np.isfinite(value)
    ax.errorbar(x[ok], value[ok], yerr=yerr[:, ok], fmt="none", ecolor="black", lw=0.8, capsize=2)


def plot_curve(curve: pd.DataFrame, path, title: str) -> Path:
    """Seen-pair AUC (both protocols) and the loss against positives seen; epoch ends dotted."""
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    for column, label in (("auc_seen_dm", "degree-matched"), ("auc_seen", "uniform")):
        ax.plot(curve["step"], curve[column], marker=".", label=f"seen AUC, {label}")
    for step in curve.loc[curve["epoch_end"], "step"]:
        ax.axvline(step, color="grey", linestyle=":", linewidth=0.8)
    unit = curve["unit"].iloc[0] if len(curve) else "pairs"
    ax.set(xlabel=f"positive {unit} seen", ylabel="seen-pair AUC-ROC", title=title)
    if curve["loss"].notna().any():
        twin = ax.twinx()
        twin.plot(curve["step"], curve["loss"], color="C3", linestyle="--", label="loss")
        twin.set_ylabel("training loss (mean per positive, this epoch so far)")
        twin.legend(loc="lower right", fontsize="small")
    ax.legend(loc="lower center", fontsize="small")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_curves_overlay(curves: dict[str, pd.DataFrame], path, title: str) -> Path:
    """Every model's degree-matched seen-pair AUC on one log x axis of positives seen."""
    fig = Figure(figsize=(8, 5))
    ax = fig.add_subplot()
    for model, curve in curves.items():
        steps = curve["step"].to_numpy(dtype=float)
        keep = steps > 0  # the untrained baseline has one point at 0
        if keep.any():
            ax.plot(steps[keep], curve["auc_seen_dm"][keep], marker=".", label=model)
    ax.set_xscale("log")
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    ax.set(xlabel="positive examples seen (walk pairs; edges for MF)", ylabel="seen AUC, dm")
    ax.set_title(title)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_time_vs_auc(table: pd.DataFrame, path) -> Path:
    """Training minutes (log scale) against seen-only AUC under both protocols, per model, with
    each AUC's 95% interval where the table has one."""
    fig = Figure(figsize=(7, 5))
    ax = fig.add_subplot()
    # Near-instant models (the degree baseline) would sit at log(0): draw them at one second.
    minutes = np.maximum(table["train_minutes"].to_numpy(dtype=float), 1 / 60)
    markers = {"auc_seen_dm": ("^", "degree-matched"), "auc_seen": ("o", "uniform")}
    colours = {ds: f"C{i}" for i, ds in enumerate(dict.fromkeys(table["dataset"]))}
    for column, (marker, protocol) in markers.items():
        auc = table[column].to_numpy(dtype=float)
        for dataset, colour in colours.items():
            rows = (table["dataset"] == dataset).to_numpy() & ~np.isnan(auc)
            if not rows.any():
                continue
            ax.scatter(
                minutes[rows],
                auc[rows],
                marker=marker,
                color=colour,
                label=f"{dataset}, {protocol}",
            )
            if f"{column}_lo" in table:
                _error_bars(ax, minutes[rows], table[rows], column)
        for x, y, model in zip(minutes, auc, table["model"], strict=True):
            if np.isfinite(x) and np.isfinite(y):
                ax.annotate(
                    model, (x, y), fontsize="x-small", xytext=(3, 3), textcoords="offset points"
                )
    ax.set_xscale("log")
    ax.set(xlabel="training minutes (log; < 1 s drawn at 1 s)", ylabel="seen-only AUC-ROC")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    return save_figure(fig, path)
