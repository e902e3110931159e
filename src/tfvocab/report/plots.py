"""The report's figures (matplotlib, drawn headless), each returned as a captioned HTML figure."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd

from .facts import Evaluation, metric_triple, model_order
from .markup import figure


def fig_png(fig) -> bytes:
    """Render a matplotlib figure to PNG bytes (and close it)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11,
                         "xtick.labelsize": 10, "ytick.labelsize": 10, "legend.fontsize": 10})
    return plt


def forest_plot(ev: Evaluation) -> str:
    """Universe AUPRC (and AUROC) of every model with its interval, prevalence as a line."""
    models = ev.models
    order = model_order(ev, models)
    pts = [(name, *metric_triple(models[name], "auprc")) for name in order]
    pts = [p for p in pts if p[1] is not None]
    if not pts:
        return ""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.42 * len(pts) + 1.6), sharey=True)
    y = np.arange(len(pts))[::-1]
    for ax, metric, ref, label in ((axes[0], "auprc", ev.n.get("prevalence"), "prevalence (chance)"),
                                   (axes[1], "auroc", 0.5, "chance")):
        for yi, name in zip(y, [p[0] for p in pts]):
            mean, lo, hi = metric_triple(models[name], metric)
            if mean is None:
                continue
            color = "#c0392b" if name == ev.transformer else ("#24476b" if name == ev.best_baseline
                                                              else "#7f8c8d")
            if lo is not None and hi is not None:
                ax.errorbar(mean, yi, xerr=[[mean - lo], [hi - mean]], fmt="o", color=color,
                            capsize=4, ms=7, lw=2)
            else:
                ax.plot(mean, yi, "o", color=color, ms=7)
        if ref:
            ax.axvline(ref, color="grey", ls="--", lw=1.2, label=label)
            ax.legend(loc="lower right")
        ax.set_xlabel(f"{metric.upper()} over all held-out pairs (95% CI)")
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(y)
    axes[0].set_yticklabels([p[0] + ("  (best baseline)" if p[0] == ev.best_baseline else "")
                             for p in pts])
    fig.suptitle("Held-out performance: every pair among the test genes", y=1.0)
    return figure(fig_png(fig), "Models on the held-out universe",
                  "Left: AUPRC of each model over every pair among the held-out genes (mean over folds, "
                  "95% interval); the dashed line is the prevalence, what a random ranking scores. Right: "
                  "AUROC, chance at 0.5. Red: the transformer; blue: the best baseline.",
                  "Points further right are better. Overlapping intervals mean the data cannot tell "
                  "the models apart; the verdict uses the paired difference, which is tighter than "
                  "comparing these intervals by eye.")


def vocab_heatmap(df: pd.DataFrame, n_tokens: int = 25, n_tfs: int = 30) -> str:
    """A readable heatmap of the most frequent learned tokens' top-TF weights (vocabulary.tsv)."""
    if not {"top_tfs", "top_weights", "count"} <= set(df.columns):
        return ""
    learned = df[df["kind"].astype(str) == "cluster"] if "kind" in df else df
    learned = learned[learned["top_tfs"].astype(str) != ""].sort_values("count", ascending=False).head(n_tokens)
    if learned.empty:
        return ""
    weights: dict[str, dict[str, float]] = {}
    for tok, tfs, ws in zip(learned["token"], learned["top_tfs"].astype(str), learned["top_weights"].astype(str)):
        names = [t for t in tfs.split(",") if t]
        vals = [float(w) for w in ws.split(",") if w.strip()] if ws.strip() else [1.0] * len(names)
        weights[str(tok)] = dict(zip(names, vals))
    tf_tot: dict[str, float] = {}
    for w in weights.values():
        for t, v in w.items():
            tf_tot[t] = tf_tot.get(t, 0.0) + abs(v)
    cols = sorted(tf_tot, key=lambda t: -tf_tot[t])[:n_tfs]
    rows = list(weights)
    mat = np.array([[weights[r].get(c, 0.0) for c in cols] for r in rows])
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(max(6, 0.42 * len(cols) + 2.5), max(3, 0.36 * len(rows) + 1.6)))
    im = ax.imshow(mat, aspect="auto", cmap="viridis", vmin=0)
    ax.set_xticks(np.arange(len(cols)))
    ax.set_xticklabels(cols, rotation=60, ha="right", fontsize=11)
    counts = dict(zip(learned["token"].astype(str), learned["count"]))
    ax.set_yticks(np.arange(len(rows)))
    ax.set_yticklabels([f"token {r} (n={counts[r]:,})" for r in rows], fontsize=11)
    if mat.size <= 400:
        for i in range(mat.shape[0]):
            for j in range(mat.shape[1]):
                if mat[i, j] > 0:
                    ax.text(j, i, f"{mat[i, j]:.1f}", ha="center", va="center", fontsize=9,
                            color="white" if mat[i, j] < 0.6 * mat.max() else "black")
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.02, label="binding score")
    ax.set_title(f"The {len(rows)} most frequent learned tokens and their top TFs")
    return figure(fig_png(fig), "TF vocabulary",
                  "Each row is a learned token (a k-means cluster of windows with similar TF-binding "
                  "vectors), with how many windows carry it; each column a TF among the tokens' top TFs; "
                  "the number is the token centroid's binding score for that TF (0 = background, "
                  "1 = a typical bound window).",
                  "A row with one bright cell is a single-TF site; several bright cells in a row are TFs "
                  "that bind together in the same 50 bp window (a candidate composite element).",
                  alt="vocabulary heatmap")


def module_figure(table: pd.DataFrame, max_rows: int = 14, max_cols: int = 14) -> str:
    if table.empty:
        return ""
    rows = table.sum(axis=1).sort_values(ascending=False).index[:max_rows]
    cols = table.sum(axis=0).sort_values(ascending=False).index[:max_cols]
    sub = table.loc[rows, cols]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(max(5, 0.55 * len(cols) + 2.5), max(3, 0.42 * len(rows) + 1.5)))
    im = ax.imshow(sub.to_numpy(), aspect="auto", cmap="Blues")
    ax.set_xticks(np.arange(len(cols)))
    ax.set_xticklabels([str(c) for c in cols], fontsize=11)
    ax.set_yticks(np.arange(len(rows)))
    ax.set_yticklabels([str(r) for r in rows], fontsize=11)
    vmax = max(int(sub.to_numpy().max()), 1)
    for i in range(sub.shape[0]):
        for j in range(sub.shape[1]):
            v = int(sub.iat[i, j])
            if v:
                ax.text(j, i, str(v), ha="center", va="center", fontsize=10,
                        color="white" if v > 0.6 * vmax else "black")
    ax.set_xlabel("predicted module (predict)")
    ax.set_ylabel("planted module (truth)")
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.02, label="genes")
    return figure(fig_png(fig), "Predicted vs planted modules",
                  "Genes of each planted module (rows) by the predicted network module they fell in "
                  "(columns); the largest modules of each.",
                  "A perfect recovery has one dark cell per row and per column; a row spread over many "
                  "columns is a planted module the network split; a column collecting several rows merged "
                  "modules.", alt="module contingency")


def signal_figure(tfs: list[str], shown: np.ndarray, missing: np.ndarray, low: set, label: str,
                  n_genes: int):
    """Per-TF bars: ``shown`` (T,) signal on top (amber: ``low`` TFs), ``missing`` (T,) fraction
    of windows without data below (as %)."""
    plt = pyplot()
    fig, axes = plt.subplots(2, 1, figsize=(max(7, min(16, 0.26 * len(tfs) + 3)), 5.5), sharex=True)
    x = np.arange(len(tfs))
    axes[0].bar(x, shown, color=["#e0a800" if t in low else "#24476b" for t in tfs])
    axes[0].set_ylabel(label)
    axes[1].bar(x, 100 * missing, color="#c0392b")
    axes[1].set_ylabel("missing windows (%)")
    axes[1].set_xlabel("TF")
    if len(tfs) <= 70:
        axes[1].set_xticks(x)
        axes[1].set_xticklabels(tfs, rotation=90, fontsize=10 if len(tfs) <= 40 else 8)
    fig.suptitle(f"Per-TF signal and missingness ({n_genes:,} genes)")
    return fig


def training_figure(df: pd.DataFrame):
    """Loss (left) and validation AUPRC / AUROC (right) per epoch of ``train_log.tsv``; returns
    the figure and the best-validation row (None without ``val_auprc``)."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for col, style in (("train_loss", "-o"), ("val_loss", "-s")):
        if col in df:
            axes[0].plot(df["epoch"], df[col], style, label=col, ms=4)
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("loss")
    axes[0].legend()
    for col, style in (("val_auprc", "-o"), ("val_auroc", "-s")):
        if col in df:
            axes[1].plot(df["epoch"], df[col], style, label=col, ms=4)
    best = None
    if "val_auprc" in df and len(df) and df["val_auprc"].notna().any():
        best = df.loc[df["val_auprc"].idxmax()]
        axes[1].axvline(best["epoch"], color="grey", ls="--", lw=1, label="best epoch")
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("validation metric")
    axes[1].legend()
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig, best
