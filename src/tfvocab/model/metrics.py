"""Ranking metrics of scored gene pairs (arrays in, numbers out; no I/O).

Every metric takes ``labels`` (N,) 0/1 and ``scores`` (N,) (higher = more likely positive) and,
optionally, non-negative pair ``weights`` (N,): a pair of weight 2 counts as two pairs. Weights
serve the gene bootstrap (a pair's weight is the product of its two genes' multiplicities in
the resample, :func:`gene_bootstrap`) and inverse-probability weighted samples of a universe
(all positives + a uniform sample of the unlabelled pairs, :func:`tfvocab.data.universe.sample_pairs`).

Ties are handled exactly (as scikit-learn does): pairs of equal score form one threshold, so a
metric never depends on the order of tied pairs. :class:`Ranked` sorts the pairs once and then
gives every metric, for any weights, in O(N):

* ``auprc`` - average precision (step-wise, no interpolation: ``sklearn.metrics.average_precision_score``);
* ``auroc`` - area under the ROC curve (trapezoids between tie groups = Mann-Whitney with ties 1/2);
* ``pauroc`` - partial AUROC at FPR <= ``max_fpr``, McClish-standardised like
  ``roc_auc_score(max_fpr=...)`` (0.5 = chance, 1 = perfect);
* ``precision_at(k)`` - expected precision of the top ``k`` pairs with ties in random order.

:func:`ranking_metrics` / :func:`binary_metrics` are the one-call versions used for training
validation and the secondary sampled-pair table.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: ``k`` of precision@k in every metrics table (plus k = number of positives)
PRECISION_KS = (10, 100)


def _as_arrays(labels, scores, weights=None):
    y = np.asarray(labels).astype(bool).ravel()
    s = np.asarray(scores)
    s = (s if s.dtype in (np.float32, np.float64) else s.astype(np.float64)).ravel()
    if y.shape != s.shape:
        raise ValueError(f"labels {y.shape} and scores {s.shape} differ in length")
    w = None if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    return y, s, w


class Ranked:
    """Pairs sorted once by descending score; metrics for any pair weights in O(N).

    ``scores`` (N,) float, ``labels`` (N,) 0/1, ``base_weights`` (N,) optional (e.g. the
    inverse sampling probabilities of a subsampled universe). Memory: the sort order (N int64)
    and the sorted labels. ``self.order`` maps sorted positions to input positions.
    """

    def __init__(self, scores, labels, base_weights=None):
        y, s, w = _as_arrays(labels, scores, base_weights)
        if np.isnan(s).any():
            raise ValueError("scores contain NaN")
        self.n = len(s)
        self.order = np.argsort(-s, kind="stable")
        ss = s[self.order]
        self.y = y[self.order]
        # index of the last pair of every tie group (groups of equal scores)
        self.ends = np.append(np.flatnonzero(ss[1:] != ss[:-1]), self.n - 1) if self.n else np.zeros(0, np.int64)
        del ss
        self.base = None if w is None else w[self.order]

    # ------------------------------------------------------------------ curve
    def sorted_weights(self, weights=None) -> np.ndarray | None:
        """``weights`` (N, input order) times the base weights, in sorted order (None = all 1)."""
        if weights is None:
            return self.base
        w = np.asarray(weights, dtype=np.float64)[self.order]
        return w if self.base is None else w * self.base

    def _counts(self, ws: np.ndarray | None):
        """Cumulative (TP, FP) weights at every tie group end (G,), and totals (P, N)."""
        if ws is None:
            tp = np.cumsum(self.y, dtype=np.float64)
            fp = np.arange(1, self.n + 1, dtype=np.float64) - tp
        else:
            tp = np.cumsum(np.where(self.y, ws, 0.0))
            fp = np.cumsum(np.where(self.y, 0.0, ws))
        if self.n == 0:
            return tp, fp, 0.0, 0.0
        return tp[self.ends], fp[self.ends], float(tp[-1]), float(fp[-1])

    def auprc(self, weights=None, *, sorted_weights=None) -> float:
        """Average precision; NaN without positives."""
        ws = self.sorted_weights(weights) if sorted_weights is None else sorted_weights
        tp, fp, P, _ = self._counts(ws)
        if P <= 0:
            return float("nan")
        denom = tp + fp
        prec = np.divide(tp, denom, out=np.zeros_like(tp), where=denom > 0)
        dr = np.diff(np.concatenate([[0.0], tp])) / P
        return float(np.sum(dr * prec))

    def auroc(self, weights=None, *, sorted_weights=None) -> float:
        """Area under the ROC curve; NaN when one class is absent."""
        ws = self.sorted_weights(weights) if sorted_weights is None else sorted_weights
        tp, fp, P, N = self._counts(ws)
        if P <= 0 or N <= 0:
            return float("nan")
        tpr = np.concatenate([[0.0], tp / P])
        fpr = np.concatenate([[0.0], fp / N])
        return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))

    def both(self, weights=None, *, sorted_weights=None) -> tuple[float, float]:
        """``(auprc, auroc)`` from one pass over the cumulative counts."""
        ws = self.sorted_weights(weights) if sorted_weights is None else sorted_weights
        tp, fp, P, N = self._counts(ws)
        if P <= 0:
            return float("nan"), float("nan")
        denom = tp + fp
        prec = np.divide(tp, denom, out=np.zeros_like(tp), where=denom > 0)
        ap = float(np.sum(np.diff(np.concatenate([[0.0], tp])) / P * prec))
        if N <= 0:
            return ap, float("nan")
        tpr = np.concatenate([[0.0], tp / P])
        fpr = np.concatenate([[0.0], fp / N])
        return ap, float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))

    def pauroc(self, max_fpr: float = 0.01, weights=None) -> float:
        """McClish-standardised partial AUROC over FPR in [0, ``max_fpr``] (sklearn's definition)."""
        tp, fp, P, N = self._counts(self.sorted_weights(weights))
        if P <= 0 or N <= 0:
            return float("nan")
        tpr = np.concatenate([[0.0], tp / P])
        fpr = np.concatenate([[0.0], fp / N])
        stop = int(np.searchsorted(fpr, max_fpr, side="right"))
        x, yv = fpr[:stop], tpr[:stop]
        if stop < len(fpr):    # interpolate the curve at max_fpr
            x0, x1, y0, y1 = fpr[stop - 1], fpr[stop], tpr[stop - 1], tpr[stop]
            yi = y0 + (y1 - y0) * (max_fpr - x0) / (x1 - x0) if x1 > x0 else y1
            x, yv = np.append(x, max_fpr), np.append(yv, yi)
        area = float(np.sum(np.diff(x) * (yv[1:] + yv[:-1]) / 2.0))
        lo, hi = 0.5 * max_fpr ** 2, max_fpr
        return 0.5 * (1.0 + (area - lo) / (hi - lo))

    def precision_at(self, k: int, weights=None) -> float:
        """Expected fraction of positives among the top ``k`` pairs (by weight), ties at the
        cut in random order; NaN when ``k`` exceeds the total weight."""
        ws = self.sorted_weights(weights)
        if ws is None:
            tp_all = np.cumsum(self.y, dtype=np.float64)
            n_all = np.arange(1, self.n + 1, dtype=np.float64)
        else:
            tp_all = np.cumsum(np.where(self.y, ws, 0.0))
            n_all = np.cumsum(ws)
        if k <= 0 or self.n == 0 or k > n_all[-1] + 1e-9:
            return float("nan")
        tp_g, n_g = tp_all[self.ends], n_all[self.ends]
        g = int(np.searchsorted(n_g, k - 1e-9))            # first group reaching k
        tp_before = tp_g[g - 1] if g else 0.0
        n_before = n_g[g - 1] if g else 0.0
        rate = (tp_g[g] - tp_before) / max(n_g[g] - n_before, 1e-12)
        return float((tp_before + (k - n_before) * rate) / k)


# --------------------------------------------------------------------------- one-call metrics
def ranking_metrics(labels, scores, weights=None) -> dict:
    """``{"auprc", "auroc"}``; NaN when only one class is present."""
    y, s, w = _as_arrays(labels, scores, weights)
    if y.size == 0 or y.all() or not y.any():
        return {"auprc": float("nan"), "auroc": float("nan")}
    ap, roc = Ranked(s, y, w).both()
    return {"auprc": ap, "auroc": roc}


def auprc(labels, scores, weights=None) -> float:
    return ranking_metrics(labels, scores, weights)["auprc"]


def auroc(labels, scores, weights=None) -> float:
    return ranking_metrics(labels, scores, weights)["auroc"]


def partial_auroc(labels, scores, max_fpr: float = 0.01, weights=None) -> float:
    """McClish-standardised partial AUROC at FPR <= ``max_fpr`` (0.5 chance, 1 perfect)."""
    y, s, w = _as_arrays(labels, scores, weights)
    return Ranked(s, y, w).pauroc(max_fpr)


def precision_at_k(labels, scores, k: int, weights=None) -> float:
    """Expected fraction of positives among the ``k`` top-scored pairs (ties in random order)."""
    y, s, w = _as_arrays(labels, scores, weights)
    return Ranked(s, y, w).precision_at(int(k))


def best_f1_threshold(labels, scores, weights=None) -> float:
    """Score threshold (predict positive when ``score >= t``) maximising (weighted) F1."""
    y, s, w = _as_arrays(labels, scores, weights)
    if len(y) == 0 or not y.any():
        return float(np.median(s)) if len(s) else 0.0
    r = Ranked(s, y, w)
    tp, fp, P, _ = r._counts(r.sorted_weights())
    f1 = 2 * tp / np.maximum(tp + fp + P, 1e-12)
    g = int(np.argmax(f1))
    return float(s[r.order[r.ends[g]]])


def threshold_metrics(labels, scores, threshold: float, weights=None) -> dict:
    """Precision, recall, F1 and accuracy of ``score >= threshold`` (weighted counts)."""
    y, s, w = _as_arrays(labels, scores, weights)
    pred = s >= threshold
    if w is None:
        tp, fp = float(np.count_nonzero(pred & y)), float(np.count_nonzero(pred & ~y))
        fn, tot = float(np.count_nonzero(~pred & y)), float(len(y))
    else:
        tp, fp, fn = float(w[pred & y].sum()), float(w[pred & ~y].sum()), float(w[~pred & y].sum())
        tot = float(w.sum())
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    return {"threshold": float(threshold), "precision": prec, "recall": rec,
            "f1": 2 * prec * rec / (prec + rec) if prec + rec else 0.0,
            "accuracy": (tot - fp - fn) / tot if tot else float("nan")}


def binary_metrics(labels, scores, threshold: float) -> dict:
    """Sampled-pair metrics of one model: counts, ranking metrics, thresholded metrics,
    precision@k (k = 10, 50, 100, n_pos)."""
    y, s, _ = _as_arrays(labels, scores)
    n_pos = int(y.sum())
    out = {"n": int(len(y)), "n_pos": n_pos,
           "pos_fraction": float(n_pos / len(y)) if len(y) else float("nan")}
    out.update(ranking_metrics(y, s))
    out.update(threshold_metrics(y, s, threshold))
    for k in (10, 50, 100):
        out[f"precision_at_{k}"] = precision_at_k(y, s, k) if len(y) >= k else float("nan")
    out["precision_at_npos"] = precision_at_k(y, s, n_pos) if n_pos else float("nan")
    return out


# --------------------------------------------------------------------------- universe table
def universe_metrics(ranked: Ranked, n_genes: int, ks=PRECISION_KS, max_fpr: float = 0.01) -> dict:
    """The headline metrics of one model on a universe (``ranked`` built on every pair, or on a
    weighted sample of it): ``auprc, auroc, prevalence, n_pairs, n_pos, n_genes,
    auprc_over_prevalence, pauroc_fpr01, precision_at {"10", "100", "n_pos"}``."""
    ws = ranked.sorted_weights()
    total = float(ranked.n if ws is None else ws.sum())
    n_pos = float(ranked.y.sum() if ws is None else ws[ranked.y].sum())
    ap, roc = ranked.both()
    prev = n_pos / total if total else float("nan")
    n_pos_i = int(round(n_pos))
    prec = {str(k): ranked.precision_at(k) for k in ks}
    prec["n_pos"] = ranked.precision_at(n_pos_i) if n_pos_i else float("nan")
    return {"auprc": ap, "auroc": roc, "prevalence": prev, "n_pairs": int(round(total)),
            "n_genes": int(n_genes), "n_pos": n_pos_i,
            "auprc_over_prevalence": ap / prev if prev and np.isfinite(ap) else float("nan"),
            "pauroc_fpr01": ranked.pauroc(max_fpr), "precision_at": prec}


# --------------------------------------------------------------------------- gene bootstrap
def gene_bootstrap(n_genes: int, n_boot: int, seed: int = 0) -> np.ndarray:
    """Gene multiplicities of ``n_boot`` bootstrap resamples of ``n_genes`` genes: (B, n) int.

    Row ``b`` counts how often each gene is drawn (n draws with replacement); a pair (i, j) of
    the universe then weighs ``m[b, i] * m[b, j]`` in resample ``b`` (pairs of a gene with its
    own copy are not pairs of the universe and are left out).
    """
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_genes, np.full(n_genes, 1.0 / n_genes), size=n_boot).astype(np.float32) \
        if n_genes else np.zeros((n_boot, 0), np.float32)


def bootstrap_replicates(ranked: Ranked, ga: np.ndarray, gb: np.ndarray, mult: np.ndarray,
                         ) -> dict[str, np.ndarray]:
    """AUPRC and AUROC of every bootstrap resample: ``{"auprc": (B,), "auroc": (B,)}``.

    ``ga, gb`` (N,) local gene indices (0..n-1) of the pairs ``ranked`` was built on, ``mult``
    (B, n) from :func:`gene_bootstrap` (the same rows for every model give paired replicates).
    """
    sa, sb = ga[ranked.order], gb[ranked.order]
    B = mult.shape[0]
    out = {"auprc": np.empty(B), "auroc": np.empty(B)}
    for b in range(B):
        m = mult[b]
        w = m[sa].astype(np.float64) * m[sb]
        if ranked.base is not None:
            w *= ranked.base
        out["auprc"][b], out["auroc"][b] = ranked.both(sorted_weights=w)
    return out


def percentile_ci(values, level: float = 0.95) -> list[float]:
    """``[lo, hi]`` percentile interval of ``values`` (NaNs ignored; NaNs when none is finite)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return [float("nan"), float("nan")]
    a = (1.0 - level) / 2.0
    lo, hi = np.quantile(v, [a, 1.0 - a])
    return [float(lo), float(hi)]


# --------------------------------------------------------------------------- strata
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


def quartile_codes(x: np.ndarray) -> np.ndarray:
    """Quartile code 0..3 (int8) of ``x`` (N,) by rank (ties share the lower code); -1 for NaN.
    Memory-light version of :func:`quartile_bins` for universes of millions of pairs."""
    x = np.asarray(x, dtype=np.float64)
    out = np.full(len(x), -1, np.int8)
    ok = np.isfinite(x)
    if not ok.any():
        return out
    edges = np.quantile(x[ok], [0.25, 0.5, 0.75])
    out[ok] = np.searchsorted(edges, x[ok], side="left").astype(np.int8)
    return out


def stratified_metrics(ranked: Ranked, codes: np.ndarray, name: str, labels=("Q1", "Q2", "Q3", "Q4")) -> list[dict]:
    """AUPRC/AUROC within each stratum: ``codes`` (N, input order) small ints (-1 = none)."""
    rows = []
    cs = np.asarray(codes)[ranked.order]
    ws = ranked.sorted_weights()
    for c in np.unique(cs[cs >= 0]):
        sel = (cs == c).astype(np.float64)
        w = sel if ws is None else sel * ws
        ap, roc = ranked.both(sorted_weights=w)
        rows.append({"stratum": name, "bin": labels[int(c)] if int(c) < len(labels) else str(int(c)),
                     "n": int(round(w.sum())), "n_pos": int(round(w[ranked.y].sum())),
                     "auprc": ap, "auroc": roc})
    return rows


# --------------------------------------------------------------------------- permutation null
def rank_metrics_of_positives(sorted_desc: np.ndarray, pos_scores: np.ndarray) -> tuple[float, float]:
    """AUPRC and AUROC of a universe whose scores are ``sorted_desc`` (N,) (all pairs, descending)
    when the positives are the pairs scoring ``pos_scores`` (P,): computed from the positives'
    ranks alone (O(P log N)), ties exactly as :class:`Ranked`."""
    N, P = len(sorted_desc), len(pos_scores)
    if P == 0 or P >= N:
        return float("nan"), float("nan")
    asc = sorted_desc[::-1]
    ps = np.sort(np.asarray(pos_scores))[::-1]
    n_geq = N - np.searchsorted(asc, ps, side="left")          # pairs scoring >= s_k
    n_gt = N - np.searchsorted(asc, ps, side="right")          # pairs scoring > s_k
    # positives scoring >= s_k (ties among positives share their group's count)
    desc_pos = ps
    tp_geq = np.searchsorted(-desc_pos, -desc_pos, side="right")
    ap = float(np.mean(tp_geq / n_geq))
    tp_gt = np.searchsorted(-desc_pos, -desc_pos, side="left")
    neg_above = (n_gt - tp_gt)                                  # negatives scoring > s_k
    neg_tied = (n_geq - n_gt) - (tp_geq - tp_gt)                # negatives tied with s_k
    n_neg = N - P
    auc = 1.0 - float(np.sum(neg_above + 0.5 * neg_tied)) / (P * n_neg)
    return ap, auc


def permutation_null(scores: np.ndarray, n: int, pa: np.ndarray, pb: np.ndarray, n_perm: int = 200,
                     seed: int = 0) -> dict:
    """Null distribution of the universe AUPRC/AUROC of ``scores`` (N,) (pair-index order of
    :mod:`tfvocab.data.universe`, ``n`` genes) when the gene labels are permuted: the positives
    ``(pa, pb)`` (local indices) become ``(pi[pa], pi[pb])`` - the same label graph (degrees,
    modules) on random genes. Returns ``{"n_perm", "auprc": (R,), "auroc": (R,)}``."""
    from ..data.universe import tri_index

    rng = np.random.default_rng([int(seed), 7])
    desc = np.sort(np.asarray(scores))[::-1]
    out = {"n_perm": int(n_perm), "auprc": np.empty(n_perm), "auroc": np.empty(n_perm)}
    for r in range(n_perm):
        pi = rng.permutation(n)
        t = tri_index(pi[pa], pi[pb], n)
        out["auprc"][r], out["auroc"][r] = rank_metrics_of_positives(desc, np.asarray(scores)[t])
    return out


# --------------------------------------------------------------------------- verdict
VERDICT_KINDS = ("better", "not_distinguishable", "worse", "too_few_positives")
#: fewer held-out positives than this: no verdict
MIN_POSITIVES = 20


def verdict(best_baseline: str, diff: float, ci, n_pos: int, n_folds: int, min_pos: int = MIN_POSITIVES,
            fold_text: str | None = None) -> tuple[str, str]:
    """``(sentence, kind)``: "better" when the CI of ΔAUPRC (transformer - best baseline)
    lies above 0, "worse" when below, "not_distinguishable" when it contains 0,
    "too_few_positives" below ``min_pos`` held-out positives."""
    where = fold_text or f"over {n_folds} fold{'s' if n_folds != 1 else ''}"
    if n_pos < min_pos:
        return f"too few held-out positives for a verdict (n = {n_pos})", "too_few_positives"
    lo, hi = ci
    txt = f"ΔAUPRC = {diff:+.3f} [{lo:+.3f}, {hi:+.3f}] {where}"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"not distinguishable from {best_baseline} ({txt})", "not_distinguishable"
    if lo > 0:
        return f"better than {best_baseline} by {txt}", "better"
    if hi < 0:
        return f"worse than {best_baseline} by {txt}", "worse"
    return f"not distinguishable from {best_baseline} ({txt})", "not_distinguishable"


def strict_json(obj):
    """NaN/inf -> None and numpy values -> Python, so a metrics file is strict JSON."""
    if isinstance(obj, dict):
        return {k: strict_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict_json(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [strict_json(v) for v in obj.tolist()]
    if isinstance(obj, (float, np.floating)):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj
