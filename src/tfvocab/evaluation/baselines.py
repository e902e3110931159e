"""Baselines scored on the same universe (every pair among the held-out genes) as the transformer.

Training-free:

* ``window_correlation`` - Pearson correlation of the two promoters' flattened (windows x TFs)
  normalised profiles: position-resolved, the strongest training-free reference;
* ``cosine_profile`` - cosine similarity of the mean TF profiles (T,) (positions averaged out);
* ``binding_mass`` - product of the two promoters' total binding (sum over windows and TFs of
  the positive part of the normalised signal): "both promoters are heavily bound".

Trained on the fold's training genes (positives among them, negatives drawn uniformly from the
pairs among them that are not listed, ``neg_ratio`` per positive, resampled every epoch for the
torch model):

* ``window_logreg`` - logistic regression on the per-window-TF products ``a_wt * b_wt``:
  ``logit = a^T diag(w) b + c``, bilinear, so a block of the universe is one GEMM. (Per-gene
  terms ``u^T (a + b)`` are available, :func:`fit_bilinear` ``gene_terms=True``, but they learn
  the training genes' propensity to be listed and rank held-out pairs far worse: small preset,
  fold 0, universe AUPRC 0.014 with them vs 0.254 without);
* ``logreg_profile`` - logistic regression on ``[|a - b|, a * b]`` of the mean TF profiles;
* ``bag_of_tokens`` - the same on the token-frequency vectors (K,) (mask token excluded): the
  vocabulary without positions or order;
* ``ordered_pairs_lr`` - logistic regression on the products ``a_h * b_h`` of the two promoters'
  signed ordered-pair bags (:func:`ordered_pair_bags`, :mod:`tfvocab.model.grammar`: the grammar
  representation the model's grammar bag reads, with the simplest trained reader): bilinear like
  ``window_logreg`` (``a^T diag(w) b``, no per-gene terms), fitted by :func:`fit_product_logreg`
  (sparse products, class-balanced, C = 0.1; small preset, fold 0: universe AUPRC 0.184 in 1.1 s
  vs 0.157 in 4.6 s with :func:`fit_bilinear`'s 30 epochs of Adam). A pair (A, B) and its reverse
  sit on one coordinate with opposite signs, so it tells TF order and spacing apart where
  bag-of-TFs scores cannot.

Every baseline is a :class:`Baseline` (what it reads, how, its fitted weights) whose
:meth:`Baseline.block_scorer` scores blocks of a universe from :func:`gene_features` of its
genes (``f(ri, rj) -> (b, c)`` torch tensor, higher = more likely co-expressed), so features are
held only for the genes being scored. Arrays in, arrays out; no I/O.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from ..model import grammar
from ..data import universe as U

#: one-line description of every baseline (metrics.json ``baselines``)
DESCRIPTIONS = {
    "window_correlation": "Pearson correlation of the two promoters' flattened (windows x TFs) profiles (no training)",
    "cosine_profile": "cosine similarity of mean TF profiles (no training)",
    "binding_mass": "product of the two promoters' total binding (positive part of the normalised signal; no training)",
    "window_logreg": "logistic regression on per-window-TF products a*b (position-resolved, bilinear)",
    "logreg_profile": "logistic regression on [|a-b|, a*b] of mean TF profiles",
    "bag_of_tokens": "logistic regression on [|a-b|, a*b] of token-frequency vectors (no positions)",
    "ordered_pairs_lr": "logistic regression on products a*b of signed ordered TF-pair bags "
                        "(binding events <= 60 bp apart, 5'->3'; bilinear)",
}
TRAINED = ("window_logreg", "logreg_profile", "bag_of_tokens", "ordered_pairs_lr")
#: largest ordered-pair bag (coordinates): exact unordered TF pairs up to T = 91, hashed above
PAIR_CAP = 4096


# --------------------------------------------------------------------------- per-gene features
def mean_profiles(values: np.ndarray, window_mask: np.ndarray) -> np.ndarray:
    """Mean TF profile per gene over its non-missing windows.

    ``values`` (G, W, T) float (missing entries already 0), ``window_mask`` (G, W) bool (True =
    missing). Returns (G, T) float64 in normalised signal units.
    """
    keep = (~window_mask).astype(np.float64)[..., None]
    return (values * keep).sum(1) / np.maximum(keep.sum(1), 1.0)


def binding_mass(values: np.ndarray, window_mask: np.ndarray) -> np.ndarray:
    """Total binding per gene (G,): sum over non-missing windows and TFs of ``max(value, 0)``."""
    keep = (~window_mask)[..., None]
    return np.where(keep, np.maximum(values, 0.0), 0.0).sum((1, 2)).astype(np.float64)


def token_frequencies(tokens: np.ndarray, n_tokens: int, mask_token: int | None = None) -> np.ndarray:
    """Token frequency vector per gene (G, K): counts / non-missing windows; mask token excluded."""
    G = tokens.shape[0]
    counts = np.zeros((G, n_tokens), dtype=np.float64)
    np.add.at(counts, (np.repeat(np.arange(G), tokens.shape[1]), tokens.ravel()), 1.0)
    if mask_token is not None and 0 <= mask_token < n_tokens:
        counts[:, mask_token] = 0.0
    return counts / np.maximum(counts.sum(1, keepdims=True), 1.0)


def ordered_pair_bags(values: np.ndarray, window_mask: np.ndarray | None, stride: int = 50,
                      cap: int = PAIR_CAP, chunk: int = 128, threshold: float | None = None) -> np.ndarray:
    """Signed ordered-pair bag per gene (:func:`tfvocab.model.grammar.pair_bag`), (G, H) float32.

    ``values`` (G, W, T) enrichment z-scores (``tfvocab normalize``'s default transform; missing
    entries 0), ``window_mask`` (G, W) bool (True = missing window, set to 0 as the model does) or
    None, ``stride`` bp between window starts. H = ``min(cap, T (T - 1) / 2)``
    (:func:`tfvocab.model.grammar.bag_size`): one exact coordinate per unordered TF pair when they fit,
    hashed with a sign otherwise. Units: ``sign * log1p(|sum of signed pair weights|)``, the
    weights in z-units^2 (:func:`tfvocab.model.grammar.pair_weights`). ``threshold``: event calling
    threshold on z (default :func:`tfvocab.model.grammar.default_threshold` of T). Computed ``chunk``
    genes at a time: memory beyond the output is O(chunk * W * T)."""
    G, _, T = values.shape
    H = grammar.bag_size(T, cap)
    thr = grammar.default_threshold(T) if threshold is None else float(threshold)
    out = np.empty((G, H), np.float32)
    with torch.no_grad():
        for s in range(0, G, max(1, int(chunk))):
            v = torch.from_numpy(np.ascontiguousarray(values[s:s + chunk], dtype=np.float32))
            m = None if window_mask is None else torch.from_numpy(np.asarray(window_mask[s:s + chunk], dtype=bool))
            out[s:s + len(v)] = grammar.pair_bag(v, m, thr, int(stride), H).numpy()
    return out


def window_stride(window_start: np.ndarray, default: int = 50) -> int:
    """bp between consecutive window starts (``default`` with fewer than two windows)."""
    ws = np.asarray(window_start)
    return int(np.diff(ws).min()) if len(ws) > 1 else int(default)


def window_features(values: np.ndarray) -> np.ndarray:
    """Flattened (G, W * T) float32 profiles (missing entries 0 = the TF's normalised mean)."""
    return np.ascontiguousarray(values.reshape(values.shape[0], -1), dtype=np.float32)


def pearson_rows(x: np.ndarray) -> np.ndarray:
    """Rows centred and scaled so that ``z[i] @ z[j]`` is the Pearson correlation of rows i, j
    ((G, F) -> (G, F) float32; constant rows -> 0)."""
    x = np.asarray(x, dtype=np.float32)
    z = x - x.mean(1, keepdims=True)
    nrm = np.linalg.norm(z, axis=1, keepdims=True)
    return np.divide(z, nrm, out=np.zeros_like(z), where=nrm > 0)


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit norm (cosine similarity = dot product); zero rows stay 0."""
    x = np.asarray(x, dtype=np.float32)
    nrm = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, nrm, out=np.zeros_like(x), where=nrm > 0)


def cosine_scores(profiles: np.ndarray, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """Cosine similarity (N,) of ``profiles[ia]`` and ``profiles[ib]`` ((G, T) -> pairs)."""
    a, b = profiles[ia], profiles[ib]
    num = (a * b).sum(1)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return np.where(den > 0, num / np.maximum(den, 1e-12), 0.0)


def symmetric_features(x: np.ndarray, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """Pair features (N, 2F) ``[|a-b|, a*b]`` of per-gene features ``x`` (G, F); symmetric in a, b."""
    a, b = x[ia], x[ib]
    return np.concatenate([np.abs(a - b), a * b], axis=1)


# --------------------------------------------------------------------------- block scorers
BlockScore = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
#: float32 elements of the (rows, c, F) buffer of :func:`abs_prod_scorer`
_ABS_BUFFER = 1 << 22


def dot_scorer(z: np.ndarray) -> BlockScore:
    """``f(ri, rj) = z[ri] @ z[rj].T`` (z (n, F))."""
    zt = torch.from_numpy(np.ascontiguousarray(z, dtype=np.float32))
    return lambda ri, rj: zt[ri] @ zt[rj].T


def correlation_scorer(x: np.ndarray) -> BlockScore:
    """Pearson correlation of rows of ``x`` (n, F), rows standardised block by block (no
    standardised copy of ``x`` is held)."""
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))

    def z(r):
        a = xt[r]
        a = a - a.mean(1, keepdim=True)
        return a / a.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return lambda ri, rj: z(ri) @ z(rj).T


def outer_scorer(m: np.ndarray) -> BlockScore:
    """``f(ri, rj) = m[ri] m[rj]`` (outer product of a per-gene value (n,))."""
    mt = torch.from_numpy(np.asarray(m, dtype=np.float32))
    return lambda ri, rj: mt[ri][:, None] * mt[rj][None, :]


def abs_prod_scorer(x: np.ndarray, w_abs: np.ndarray, w_prod: np.ndarray) -> BlockScore:
    """``f(ri, rj)[r, s] = w_abs . |x_r - x_s| + w_prod . (x_r * x_s)`` (a linear model on
    ``[|a-b|, a*b]``): the product term is one GEMM, the absolute term a bounded (rows, c, F)
    buffer."""
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    wa = torch.from_numpy(np.asarray(w_abs, dtype=np.float32))
    wp = torch.from_numpy(np.asarray(w_prod, dtype=np.float32))

    def f(ri, rj):
        a, b = xt[ri], xt[rj]
        out = (a * wp) @ b.T
        rows = max(1, _ABS_BUFFER // max(1, b.shape[0] * b.shape[1]))
        for r in range(0, len(a), rows):
            d = (a[r:r + rows, None, :] - b[None, :, :]).abs_()
            out[r:r + rows] += d @ wa
        return out
    return f


def bilinear_scorer(x: np.ndarray, w: np.ndarray, u: np.ndarray) -> BlockScore:
    """``f(ri, rj) = (x_r * w) @ x_s + u . x_r + u . x_s`` (the :func:`fit_bilinear` model)."""
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    wt = torch.from_numpy(np.asarray(w, dtype=np.float32))
    lin = xt @ torch.from_numpy(np.asarray(u, dtype=np.float32))
    return lambda ri, rj: (xt[ri] * wt) @ xt[rj].T + lin[ri][:, None] + lin[rj][None, :]


# --------------------------------------------------------------------------- training pairs
@dataclass
class TrainingPairs:
    """Where the trained baselines learn: ``genes`` (n,) global indices of the training genes,
    positives ``pa, pb`` (local indices), ``listed`` sorted local pair indices never drawn as
    negatives (every listed pair among the training genes, above threshold or not)."""

    genes: np.ndarray
    pa: np.ndarray
    pb: np.ndarray
    listed: np.ndarray
    neg_ratio: float = 10.0
    seed: int = 0

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Positives plus ``neg_ratio`` fresh uniform negatives per positive: local ``ia, ib, y``."""
        n_neg = int(round(self.neg_ratio * len(self.pa)))
        na, nb = U.sample_unlabelled(len(self.genes), self.listed, n_neg, rng)
        ia = np.concatenate([self.pa, na])
        ib = np.concatenate([self.pb, nb])
        y = np.concatenate([np.ones(len(self.pa)), np.zeros(len(na))])
        return ia, ib, y


def fit_symmetric_logreg(x: np.ndarray, tp: TrainingPairs) -> tuple[np.ndarray, np.ndarray]:
    """Standardised, class-balanced L2 logistic regression on ``[|a-b|, a*b]`` of ``x`` (n, F)
    (local to ``tp.genes``). Returns the raw-scale weights ``(w_abs (F,), w_prod (F,))`` (the
    intercept does not change a ranking)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    ia, ib, y = tp.draw(np.random.default_rng(tp.seed))
    X = symmetric_features(x, ia, ib)
    sc = StandardScaler().fit(X)
    clf = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000, random_state=tp.seed)
    clf.fit(sc.transform(X), y)
    w = clf.coef_[0] / np.where(sc.scale_ > 0, sc.scale_, 1.0)
    F = x.shape[1]
    return w[:F], w[F:]


def fit_product_logreg(x: np.ndarray, tp: TrainingPairs, C: float = 0.1, chunk: int = 65536) -> np.ndarray:
    """Class-balanced L2 logistic regression (inverse strength ``C``) on the products ``a * b`` of
    pairs of rows of ``x`` (n, F) local to ``tp.genes``, no standardisation (mostly-zero
    features such as :func:`ordered_pair_bags`): positives and one draw of ``tp.neg_ratio``
    negatives per positive; the products are built sparse, ``chunk`` pairs at a time, so memory
    follows their nonzeros. Returns ``w`` (F,) float32: ``logit = a^T diag(w) b + c`` (the
    intercept does not change a ranking)."""
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    ia, ib, y = tp.draw(np.random.default_rng(tp.seed))
    xs = sparse.csr_matrix(np.asarray(x, dtype=np.float32))
    X = sparse.vstack([xs[ia[s:s + chunk]].multiply(xs[ib[s:s + chunk]]).tocsr()
                       for s in range(0, len(ia), chunk)], format="csr")
    clf = LogisticRegression(C=C, class_weight="balanced", max_iter=3000, random_state=tp.seed)
    clf.fit(X, y)
    return clf.coef_[0].astype(np.float32)


def fit_bilinear(x: np.ndarray, tp: TrainingPairs, epochs: int = 30, batch: int = 2048,
                 lr: float = 1e-2, l2: float = 1e-4, gene_terms: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Logistic regression ``logit = a^T diag(w) b + u^T (a + b) + c`` on pairs of rows of ``x``
    (n, F) local to ``tp.genes``; Adam on the class-balanced log-loss with L2 ``l2``, fresh
    negatives every epoch; ``gene_terms`` adds ``u^T (a + b)`` (u stays 0 without). Returns
    ``(w (F,), u (F,))`` (float32)."""
    g = torch.Generator().manual_seed(int(tp.seed))
    rng = np.random.default_rng(tp.seed)
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    F = xt.shape[1]
    w = torch.zeros(F, requires_grad=True)
    u = torch.zeros(F, requires_grad=bool(gene_terms))
    c = torch.zeros(1, requires_grad=True)
    opt = torch.optim.Adam([w, u, c] if gene_terms else [w, c], lr=lr)
    for _ in range(int(epochs)):
        ia, ib, y = tp.draw(rng)
        ia, ib = torch.from_numpy(ia), torch.from_numpy(ib)
        yt = torch.from_numpy(y.astype(np.float32))
        pw = torch.tensor(float((1 - y).sum() / max(y.sum(), 1.0)))
        perm = torch.randperm(len(yt), generator=g)
        for s in range(0, len(perm), batch):
            sel = perm[s:s + batch]
            a, b = xt[ia[sel]], xt[ib[sel]]
            logit = (a * b) @ w + (a + b) @ u + c
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logit, yt[sel], pos_weight=pw)
            loss = loss + l2 * (w.square().sum() + u.square().sum())
            opt.zero_grad()
            loss.backward()
            opt.step()
    return w.detach().numpy(), u.detach().numpy()


# --------------------------------------------------------------------------- the baselines
def gene_features(values: np.ndarray | None, window_mask: np.ndarray | None, tokens: np.ndarray | None = None,
                  n_tokens: int = 0, mask_token: int | None = None, *, stride: int = 50,
                  pair_cap: int = PAIR_CAP) -> dict[str, np.ndarray]:
    """Per-gene inputs of the baselines for a set of n genes: ``flat`` (n, W*T) float32 (missing
    entries 0), ``profile`` (n, T), ``mass`` (n,), ``pairs`` (n, H) (:func:`ordered_pair_bags`,
    ``stride`` bp between window starts, H <= ``pair_cap``), ``freq`` (n, K) (with tokens)."""
    out: dict[str, np.ndarray] = {}
    if values is not None:
        out["flat"] = window_features(values)
        out["profile"] = mean_profiles(values, window_mask).astype(np.float32)
        out["mass"] = binding_mass(values, window_mask).astype(np.float32)
        out["pairs"] = ordered_pair_bags(values, window_mask, stride, pair_cap)
    if tokens is not None and n_tokens > 0:
        out["freq"] = token_frequencies(tokens, n_tokens, mask_token).astype(np.float32)
    return out


@dataclass
class Baseline:
    """One baseline: which per-gene feature it reads (:func:`gene_features`), how two genes'
    features make a pair score (``kind``), and its fitted ``params``."""

    name: str
    kind: str                      # correlation | cosine | outer | abs_prod | bilinear
    feature: str                   # flat | profile | mass | pairs | freq
    params: dict = field(default_factory=dict)

    def block_scorer(self, features: dict[str, np.ndarray], rows: np.ndarray | None = None) -> BlockScore:
        """Block scorer over the universe of the genes of ``features`` (or of its ``rows``)."""
        x = features[self.feature]
        if rows is not None:
            x = x[np.asarray(rows)]
        if self.kind == "correlation":
            return correlation_scorer(x)
        if self.kind == "cosine":
            return dot_scorer(unit_rows(x))
        if self.kind == "outer":
            return outer_scorer(x)
        if self.kind == "abs_prod":
            return abs_prod_scorer(x, self.params["w_abs"], self.params["w_prod"])
        if self.kind == "bilinear":
            return bilinear_scorer(x, self.params["w"], self.params["u"])
        raise ValueError(self.kind)

    def score_pairs(self, features: dict[str, np.ndarray], ia: np.ndarray, ib: np.ndarray,
                    chunk: int = 4096) -> np.ndarray:
        """Scores (N,) of pairs ``(ia, ib)`` (rows of ``features``)."""
        out = np.empty(len(ia), np.float64)
        for s in range(0, len(ia), chunk):
            a, b = np.asarray(ia[s:s + chunk]), np.asarray(ib[s:s + chunk])
            genes, inv = np.unique(np.concatenate([a, b]), return_inverse=True)
            m = self.block_scorer(features, genes)(torch.arange(len(genes)), torch.arange(len(genes)))
            out[s:s + len(a)] = m[torch.from_numpy(inv[:len(a)]), torch.from_numpy(inv[len(a):])].double().numpy()
        return out


def build_baselines(fit_features: dict[str, np.ndarray] | None, training: TrainingPairs | None, *,
                    has_values: bool = True, has_tokens: bool = True, only: tuple[str, ...] | None = None,
                    bilinear_epochs: int = 30) -> dict[str, Baseline]:
    """Every baseline the inputs allow, fitted where trained.

    ``fit_features``: :func:`gene_features` of the training genes, with ``training`` the pairs
    among them (local indices; None: no trained baselines). The returned baselines score any
    gene set through its own :func:`gene_features`. ``only``: restrict to these names.
    """
    want = (lambda n: only is None or n in only)
    out: dict[str, Baseline] = {}
    can_fit = training is not None and fit_features is not None and len(training.pa) > 0 and len(training.genes) > 2
    if has_values:
        for name, kind, feat in (("window_correlation", "correlation", "flat"),
                                 ("cosine_profile", "cosine", "profile"), ("binding_mass", "outer", "mass")):
            if want(name):
                out[name] = Baseline(name, kind, feat)
        if can_fit and want("window_logreg"):
            w, u = fit_bilinear(fit_features["flat"][training.genes], training, epochs=bilinear_epochs)
            out["window_logreg"] = Baseline("window_logreg", "bilinear", "flat", {"w": w, "u": u})
        if can_fit and want("logreg_profile"):
            wa, wp = fit_symmetric_logreg(fit_features["profile"][training.genes], training)
            out["logreg_profile"] = Baseline("logreg_profile", "abs_prod", "profile", {"w_abs": wa, "w_prod": wp})
        if can_fit and "pairs" in fit_features and want("ordered_pairs_lr"):
            w = fit_product_logreg(fit_features["pairs"][training.genes], training)
            out["ordered_pairs_lr"] = Baseline("ordered_pairs_lr", "bilinear", "pairs",
                                               {"w": w, "u": np.zeros_like(w)})
    if has_tokens and can_fit and "freq" in fit_features and want("bag_of_tokens"):
        wa, wp = fit_symmetric_logreg(fit_features["freq"][training.genes], training)
        out["bag_of_tokens"] = Baseline("bag_of_tokens", "abs_prod", "freq", {"w_abs": wa, "w_prod": wp})
    return out
