"""Evaluate a trained model and the baselines on the held-out (test) genes (``tfvocab evaluate``).

For every model (the transformer, the baselines of :mod:`tfvocab.baselines`, and with
``truth`` the oracle "the two genes share a true module"): AUPRC, AUROC, and at the threshold
that maximises F1 on the validation pairs: F1, precision, recall, accuracy; precision@k
(k = 10, 50, 100 and k = number of test positives); metrics per stratum (pair GC quartile =
mean of the two promoters' ``gc``, pair degree quartile = mean number of positive partners of
the two genes in pairs.tsv). Writes ``metrics.json``, ``predictions.tsv`` (val + test pairs,
one ``score_<model>`` column each), ``pr_curve.png``, ``roc_curve.png``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .baselines import baseline_scores
from .data import load_gene_data, read_pairs
from .errors import TfvocabError
from .formats import read_promoters
from .inference import load_model, resolve_device, score_pairs
from .io import atomic_path, provenance, write_json, write_table
from .publish import step_outputs
from .log import get_logger, timed

log = get_logger("evaluate")

TRANSFORMER = "transformer"


# --------------------------------------------------------------------------- metrics
def best_f1_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """Score threshold (predict positive when ``score >= t``) maximising F1 on (labels, scores)."""
    from sklearn.metrics import precision_recall_curve

    if len(labels) == 0 or labels.sum() == 0:
        return float(np.median(scores)) if len(scores) else 0.0
    p, r, t = precision_recall_curve(labels, scores)
    f1 = np.where(p + r > 0, 2 * p * r / np.maximum(p + r, 1e-12), 0.0)[:-1]
    return float(t[int(np.argmax(f1))])


def ranking_metrics(labels: np.ndarray, scores: np.ndarray) -> dict:
    """AUPRC (average precision) and AUROC; NaN when only one class is present."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    labels = np.asarray(labels)
    if labels.size == 0 or labels.min() == labels.max():
        return {"auprc": float("nan"), "auroc": float("nan")}
    return {"auprc": float(average_precision_score(labels, scores)),
            "auroc": float(roc_auc_score(labels, scores))}


def precision_at_k(labels: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Fraction of positives among the ``k`` top-scored pairs (stable order: ties by position)."""
    if k <= 0 or len(labels) == 0:
        return float("nan")
    top = np.argsort(-scores, kind="stable")[: min(k, len(labels))]
    return float(labels[top].mean())


def binary_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    """All test metrics of one model: ranking metrics, thresholded metrics, precision@k."""
    labels = np.asarray(labels).astype(int)
    scores = np.asarray(scores, dtype=np.float64)
    n_pos = int(labels.sum())
    out = {"n": int(len(labels)), "n_pos": n_pos,
           "pos_fraction": float(n_pos / len(labels)) if len(labels) else float("nan")}
    out.update(ranking_metrics(labels, scores))
    pred = scores >= threshold
    tp = int((pred & (labels == 1)).sum())
    fp = int((pred & (labels == 0)).sum())
    fn = int((~pred & (labels == 1)).sum())
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    out.update(threshold=float(threshold), precision=prec, recall=rec,
               f1=2 * prec * rec / (prec + rec) if prec + rec else 0.0,
               accuracy=float((pred == (labels == 1)).mean()) if len(labels) else float("nan"))
    for k in (10, 50, 100):
        out[f"precision_at_{k}"] = precision_at_k(labels, scores, k) if len(labels) >= k else float("nan")
    out["precision_at_npos"] = precision_at_k(labels, scores, n_pos)
    return out


def stratified_metrics(labels: np.ndarray, scores: np.ndarray, strata: np.ndarray, name: str) -> list[dict]:
    """AUPRC/AUROC per value of ``strata`` (N,) (e.g. quartile labels)."""
    rows = []
    for s in pd.unique(strata[pd.notna(strata)]):
        sel = strata == s
        y, sc = labels[sel], scores[sel]
        rows.append({"stratum": name, "bin": str(s), "n": int(sel.sum()), "n_pos": int(y.sum()),
                     **ranking_metrics(y, sc)})
    return sorted(rows, key=lambda r: r["bin"])


def quartile_bins(x: np.ndarray) -> np.ndarray:
    """Quartile labels ``Q1..Q4`` (fewer when values tie) of ``x`` (N,); NaN stays unassigned."""
    x = pd.Series(np.asarray(x, dtype=np.float64))
    if x.notna().sum() == 0:
        return np.full(len(x), None, dtype=object)
    try:
        q = pd.qcut(x.rank(method="average"), 4, labels=False, duplicates="drop")
    except ValueError:
        return np.full(len(x), "Q1", dtype=object)
    return np.array([None if pd.isna(v) else f"Q{int(v) + 1}" for v in q], dtype=object)


def gene_degree(pairs: pd.DataFrame) -> pd.Series:
    """Number of positive partners per gene in ``pairs`` (all splits)."""
    pos = pairs[pairs["label"] == 1]
    return pd.concat([pos["gene_a"], pos["gene_b"]]).value_counts()


def oracle_scores(truth_dir, gene_a, gene_b) -> np.ndarray:
    """1.0 when the two genes share a true module (``truth/modules.tsv``), else 0.0."""
    path = Path(truth_dir) / "modules.tsv"
    if not path.exists():
        path = Path(truth_dir)
        if path.is_dir() or not path.exists():
            raise TfvocabError("no modules.tsv found", path=str(truth_dir), hint="pass simulate's truth/ folder")
    mods = pd.read_csv(path, sep="\t", dtype=str)
    if not {"module", "gene_id"} <= set(mods.columns):
        raise TfvocabError("expected columns module, gene_id", path=str(path))
    member: dict[str, set] = {}
    for m, g in zip(mods["module"], mods["gene_id"]):
        member.setdefault(g, set()).add(m)
    return np.array([1.0 if member.get(a, set()) & member.get(b, set()) else 0.0
                     for a, b in zip(gene_a, gene_b)])


# --------------------------------------------------------------------------- plots
def plot_curves(labels: np.ndarray, scores: dict[str, np.ndarray], pr_path, roc_path) -> None:
    """PR and ROC curves of every model on the test pairs (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve, roc_curve

    for kind, path in (("pr", pr_path), ("roc", roc_path)):
        fig, ax = plt.subplots(figsize=(5, 4.5), dpi=110)
        for name, sc in scores.items():
            if labels.min() == labels.max():
                break
            if kind == "pr":
                p, r, _ = precision_recall_curve(labels, sc)
                ax.step(r, p, where="post", label=name, lw=1.4)
            else:
                f, t, _ = roc_curve(labels, sc)
                ax.plot(f, t, label=name, lw=1.4)
        if kind == "pr":
            ax.axhline(labels.mean(), color="grey", ls=":", lw=1, label="chance")
            ax.set(xlabel="recall", ylabel="precision", title="Precision-recall (test genes)")
        else:
            ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="chance")
            ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (test genes)")
        ax.set(xlim=(0, 1), ylim=(0, 1.02))
        ax.legend(fontsize=7, loc="best")
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png")
        plt.close(fig)


# --------------------------------------------------------------------------- step
def _strict_json(obj):
    """NaN/inf -> None, so metrics.json is strict JSON."""
    if isinstance(obj, dict):
        return {k: _strict_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_strict_json(v) for v in obj]
    if isinstance(obj, (float, np.floating)) and not np.isfinite(obj):
        return None
    return obj


def evaluate_scores(pairs: pd.DataFrame, scores: dict[str, np.ndarray], promoters: pd.DataFrame | None = None) -> dict:
    """Metrics of every model: threshold from val (max F1), metrics on test, test strata.

    ``pairs``: DataFrame (N rows: gene_a, gene_b, label, split); ``scores``: name -> (N,).
    """
    labels = pairs["label"].to_numpy().astype(int)
    val = (pairs["split"] == "val").to_numpy()
    test = (pairs["split"] == "test").to_numpy()
    strata = {}
    deg = gene_degree(pairs)
    strata["degree"] = quartile_bins(((pairs["gene_a"].map(deg).fillna(0) + pairs["gene_b"].map(deg).fillna(0)) / 2)
                                     .to_numpy()[test])
    if promoters is not None and "gc" in promoters.columns:
        gc = promoters.set_index("gene_id")["gc"].astype(float)
        pair_gc = ((pairs["gene_a"].map(gc) + pairs["gene_b"].map(gc)) / 2).to_numpy()[test]
        strata["gc_quartile"] = quartile_bins(pair_gc)
    models = {}
    for name, sc in scores.items():
        thr = best_f1_threshold(labels[val], sc[val])
        m = binary_metrics(labels[test], sc[test], thr)
        vm = binary_metrics(labels[val], sc[val], thr)
        m["val_auprc"], m["val_auroc"] = vm["auprc"], vm["auroc"]
        m["strata"] = [r for key, st in strata.items() for r in stratified_metrics(labels[test], sc[test], st, key)]
        models[name] = m
    return models


def run(model=None, tokens=None, normalized=None, pairs=None, outdir=".", *, promoters=None, truth=None,
        device: str = "auto", seed: int = 0) -> dict[str, Path]:
    """``tfvocab evaluate``: score val/test pairs with the model and the baselines; write the report files."""
    if model is None or pairs is None:
        raise TfvocabError("--model and --pairs are required")
    outdir = Path(outdir)
    dev = resolve_device(device)
    with timed("loading inputs", log):
        data_all = load_gene_data(tokens, normalized,
                                  "both" if tokens is not None and normalized is not None
                                  else ("tokens" if tokens is not None else "continuous"))
        net, obj = load_model(model, data_all, dev)
        data = data_all.with_mode(obj["config"]["input"])
        df = read_pairs(pairs, data.index)
    ev = df[df["split"].isin(["val", "test"])].reset_index(drop=True)
    if not (ev["split"] == "test").any():
        raise TfvocabError("no test pairs", path=str(pairs), hint="pairs.tsv needs split=test rows")
    ia, ib = ev["ia"].to_numpy(), ev["ib"].to_numpy()
    scores: dict[str, np.ndarray] = {}
    with timed(f"scoring {len(ev)} val/test pairs", log):
        logits = score_pairs(net, data.to(dev), ia, ib, dev)
        scores[TRANSFORMER] = 1.0 / (1.0 + np.exp(-logits))
    with timed("baselines", log):
        all_ia = np.concatenate([df["ia"].to_numpy(), ia])
        all_ib = np.concatenate([df["ib"].to_numpy(), ib])
        all_y = np.concatenate([df["label"].to_numpy(), ev["label"].to_numpy()])
        is_train = np.concatenate([(df["split"] == "train").to_numpy(), np.zeros(len(ev), bool)])
        vals = data_all.values.numpy() if data_all.values is not None else None
        vmask = data_all.value_mask.numpy() if data_all.value_mask is not None else None
        toks = data_all.tokens.numpy() if data_all.tokens is not None else None
        base = baseline_scores(vals, vmask, toks, data_all.n_tokens, data_all.mask_token,
                               all_ia, all_ib, all_y, is_train, seed=seed)
        for name, sc in base.items():
            scores[name] = sc[len(df):]
    if truth is not None:
        scores["oracle"] = oracle_scores(truth, ev["gene_a"], ev["gene_b"])
    prom = None
    if promoters is not None:
        prom = read_promoters(promoters, required=("gene_id", "gc"))
    models = evaluate_scores(ev, scores, prom)
    test = (ev["split"] == "test").to_numpy()
    params = {"model": model, "tokens": tokens, "normalized": normalized, "pairs": pairs,
              "promoters": promoters, "truth": truth, "seed": seed}
    summary = [{"model": name, **{k: v for k, v in m.items() if k != "strata"}} for name, m in models.items()]
    result = {"models": models, "summary": summary, "model_file": str(model), "input": obj["config"]["input"],
              "best_epoch": obj.get("best_epoch"), "vocab_hash": obj.get("vocab_hash"),
              "n_test_pairs": int(test.sum()), "n_test_genes": int(len(set(ev.loc[test, "gene_a"]) | set(ev.loc[test, "gene_b"]))),
              "baselines": {"cosine_profile": "cosine similarity of mean TF profiles (no training)",
                            "logreg_profile": "logistic regression on [|a-b|, a*b] of mean TF profiles",
                            "bag_of_tokens": "logistic regression on [|a-b|, a*b] of token-frequency vectors (no positions)",
                            "oracle": "1 if the two genes share a true module (truth/modules.tsv)"},
              "provenance": provenance("evaluate", params)}
    pred = ev[["gene_a", "gene_b", "label", "split"]].copy()
    for name, sc in scores.items():
        pred[f"score_{name}"] = np.round(sc, 6)
    with step_outputs(outdir, "evaluate", params) as out:
        write_json(out.path("metrics.json"), _strict_json(result))
        write_table(out.path("predictions.tsv"), pred, provenance("evaluate", params))
        plot_curves(ev["label"].to_numpy()[test], {k: v[test] for k, v in scores.items()},
                    out.path("pr_curve.png"), out.path("roc_curve.png"))
    paths = {k: outdir / f for k, f in (("metrics", "metrics.json"), ("predictions", "predictions.tsv"),
                                         ("pr_curve", "pr_curve.png"), ("roc_curve", "roc_curve.png"))}
    for name, m in models.items():
        log.info("%-16s test AUPRC %.4f  AUROC %.4f  F1 %.4f", name, m["auprc"], m["auroc"], m["f1"])
    return paths
