"""The TF vocabulary: k-means tokens of 50 bp window vectors (blueprint III.B.5, V.B).

Every promoter window is a T-dim vector of normalised TF signal (``normalized.h5``). Each window
gets one integer token:

* ``MASK_TOKEN = 0``: the window is missing (no TF observed there).
* ``NULL_TOKEN = 1``: "no binding": no observed TF is *called* in the window.
* ``2 .. K+1``: k-means clusters of the bound windows, numbered by decreasing frequency.

**Calls** (which TFs bind a window). A TF is called in window w when

1. it is enriched above its background at the stated error rate: ``(x_t - center_t) / scale_t
   >= null_threshold``, default :func:`auto_null_threshold` = Phi^-1(1 - alpha/T), alpha = 0.05
   (Bonferroni over the T TFs: 3.0 at 40 TFs, 3.6 at 300), so a window without any binding is
   called bound with probability <= alpha; and
2. (``summit_frac`` > 0) the window lies on the peak's summit: its score is at least
   ``summit_frac`` of the TF's highest score within ``summit_reach`` windows (+-100 bp) in the
   same promoter. A DAP-seq peak (fragment-length coverage, sd ~50 bp) is significant over
   several 50 bp windows; only the windows at its summit hold the site, the others hold its
   tails (on the simulator's truth, half of the significant windows lie > 60 bp from any site of
   their TF without this rule, < 2 % with it).

With the enrichment z-scores of ``tfvocab normalize`` (its default transform; the ``stats``
group of normalized.h5 says so) the scores are already calibrated: ``center = 0``, ``scale = 1``,
``alpha`` is normalize's, and ``summit_frac = SUMMIT_FRAC`` (0.7). For other inputs (e.g.
``--transform logz``) ``center_t`` is the TF's median over windows and ``scale_t`` = 1.4826 x its
median absolute deviation (falling back to the standard deviation when the MAD is below a quarter
of it - the bulk is one clipped value -, then 1), and no summit rule is applied.

Fitting: mini-batch k-means (:func:`kmeans`, scikit-learn's ``MiniBatchKMeans``) on a
seeded uniform subsample (at most ``max_fit_windows``) of bound, fully observed windows; then
every window is assigned to its nearest centroid in chunks. With calibrated inputs the k-means
vectors are the window's *binding vectors*: the scores of the called TFs, 0 for the others (so a
token is a combination of called TFs, not background noise). Partially masked windows use the
distance over their observed TFs only (missing is never read as "not bound"). The number of
clusters is clamped (with a warning) to the number of distinct bound windows.

**Top TFs of a token** (used in ``vocabulary.tsv`` and by the tests): a centroid's *binding
score* for TF t is ``(c_t - center_t) / (bound_t - center_t)``, where ``bound_t`` is the TF's
mean level over its bound windows (above the null threshold): 0 = background, 1 = a typical
bound window. The top TFs are those with score >= ``TOP_SCORE`` (0.5: the centroid is at least
half-way from background to that TF's typical bound level), by decreasing score.

The codebook (K+2, T) holds the centroids in normalised units; row 0 (mask) is zeros and row 1
(null) is the background ``center``. ``center``, ``scale``, ``bound`` and the threshold are
stored with it in ``tokens.h5`` (with the call rule: attrs ``calibrated``, ``summit_frac``,
``summit_reach``, ``n_windows``) so ``--codebook`` tokenises new data identically.

``vocabulary.tsv`` gives per token the windows it covers (``count``), the fraction of them with
a call (``enriched_frac``) and the fraction in which every one of its top TFs is called
(``top_tfs_called``): how faithfully the token's label describes its windows.
"""
from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from ..errors import TfvocabError
from ..io import atomic_path, sha256_array
from ..log import get_logger, timed

logger = get_logger("vocabulary")

MASK_TOKEN = 0
NULL_TOKEN = 1
N_SPECIAL = 2
TOP_SCORE = 0.5
MAD_TO_SD = 1.4826
SUMMIT_FRAC = 0.7            # calibrated inputs: a call needs >= 70% of the local summit's score
SUMMIT_BP = 100              # ... within +- this many bp
CHUNK_GENES = 256


@dataclasses.dataclass
class Vocabulary:
    """A fitted TF vocabulary.

    ``codebook`` float32 (K+2, T): token i's centroid in normalised units (rows 0/1 special).
    ``center``, ``scale``, ``bound`` float32 (T,): per-TF background level, robust spread and
    mean bound level (normalised units). ``null_threshold``: robust SDs above background that
    count as binding. ``tfs``: TF names (T,). ``calibrated``, ``summit_frac``,
    ``summit_reach``, ``n_windows``: the call rule (module docstring).
    """

    tfs: list[str]
    codebook: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    bound: np.ndarray
    null_threshold: float
    calibrated: bool = False        # scores are normalize's enrichment z (binding vectors)
    summit_frac: float = 0.0        # call rule 2 (module docstring); 0 = off
    summit_reach: int = 0           # windows either side
    n_windows: int = 0              # windows per promoter (rows of a gene are consecutive)

    @property
    def n_tokens(self) -> int:
        return int(self.codebook.shape[0])

    @property
    def vocab_hash(self) -> str:
        return sha256_array(self.codebook)

    def scores(self) -> np.ndarray:
        """Binding scores (K+2, T) of every codebook row (see module docstring)."""
        return binding_scores(self.codebook, self.center, self.bound)


# ---------------------------------------------------------------- array functions

def binding_scores(centroids: np.ndarray, center: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """``(c - center) / (bound - center)`` per TF: (K, T) -> (K, T); 0 background, 1 bound."""
    span = np.maximum(bound - center, 1e-6)
    return (centroids - center) / span


def top_tfs(scores: np.ndarray, threshold: float = TOP_SCORE) -> list[np.ndarray]:
    """Per row of ``scores`` (K, T): indices of TFs with score >= ``threshold``, best first."""
    out = []
    for row in np.atleast_2d(scores):
        idx = np.flatnonzero(row >= threshold)
        out.append(idx[np.argsort(-row[idx], kind="stable")])
    return out


def background(X: np.ndarray, M: np.ndarray, null_threshold: float, calibrated: bool = False
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-TF background ``center``, robust ``scale`` and mean ``bound`` level, each (T,).

    ``X``: (N, T) window vectors (any value where masked), ``M``: (N, T) bool, True = missing.
    ``calibrated``: the values are enrichment z-scores (center 0, scale 1).
    """
    Y = np.where(M, np.nan, X).astype(np.float64)
    T = Y.shape[1]
    if calibrated:
        center, scale = np.zeros(T), np.ones(T)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            center = np.nanmedian(Y, axis=0)
            scale = MAD_TO_SD * np.nanmedian(np.abs(Y - center), axis=0)
            sd = np.nanstd(Y, axis=0)
        center = np.nan_to_num(center)
        sd = np.nan_to_num(sd)
        # a MAD far below the SD means the bulk is one clipped value (e.g. log2(0 + c)):
        # it measures nothing, use the SD
        mad_ok = np.nan_to_num(scale) > np.maximum(1e-6, 0.25 * sd)
        scale = np.where(mad_ok, scale, np.where(sd > 1e-6, sd, 1.0))
    on = (Y - center) / scale >= null_threshold
    n_on = on.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        bound = np.where(n_on > 0, np.where(on, Y, 0.0).sum(axis=0) / np.maximum(n_on, 1),
                         center + 2 * null_threshold * scale)
    bound = np.maximum(bound, center + null_threshold * scale)
    return center.astype(np.float32), scale.astype(np.float32), bound.astype(np.float32)


def local_max(x: np.ndarray, reach: int) -> np.ndarray:
    """Maximum of (g, W, T) ``x`` over windows ``w - reach .. w + reach`` of the same gene."""
    out = x.copy()
    for s in range(1, int(reach) + 1):
        np.maximum(out[:, s:], x[:, :-s], out=out[:, s:])
        np.maximum(out[:, :-s], x[:, s:], out=out[:, :-s])
    return out


def calls(X: np.ndarray, M: np.ndarray, center: np.ndarray, scale: np.ndarray,
          null_threshold: float, n_windows: int = 0, summit_frac: float = 0.0,
          summit_reach: int = 0) -> np.ndarray:
    """Per-TF calls (N, T) bool of window vectors ``X`` (N, T), mask ``M`` (N, T): enriched at
    ``null_threshold`` and, with ``summit_frac`` > 0 and rows grouped by gene (``n_windows``
    consecutive rows each; N a multiple of it), at >= ``summit_frac`` of the TF's highest score
    within ``summit_reach`` windows (module docstring)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        zc = np.where(M, -np.inf, (X - center) / scale)
    on = zc >= null_threshold
    if summit_frac > 0 and summit_reach > 0 and n_windows and len(X) % n_windows == 0 and len(X):
        T = X.shape[1]
        z3 = zc.reshape(-1, n_windows, T)
        peak = local_max(z3, summit_reach).reshape(-1, T)
        on &= zc >= summit_frac * peak
    return on


def window_kinds(X: np.ndarray, M: np.ndarray, center: np.ndarray, scale: np.ndarray,
                 null_threshold: float, **rule) -> tuple[np.ndarray, np.ndarray]:
    """``(missing, null)`` bool (N,) for window vectors ``X`` (N, T) with mask ``M`` (N, T);
    ``rule``: the summit options of :func:`calls`."""
    missing = M.all(axis=1)
    null = ~missing & ~calls(X, M, center, scale, null_threshold, **rule).any(axis=1)
    return missing, null


def binding_vectors(X: np.ndarray, on: np.ndarray) -> np.ndarray:
    """The k-means vectors of calibrated inputs: ``X`` where called (``on``), else 0. (N, T)."""
    return np.where(on, X, 0.0).astype(np.float32)


def nearest(X: np.ndarray, centroids: np.ndarray, M: np.ndarray | None = None,
            chunk: int = 4096) -> np.ndarray:
    """Index of the nearest centroid (squared Euclidean) per row: (N, T), (K, T) -> (N,) int64.

    With a mask ``M`` (N, T) the distance runs over each row's observed TFs only:
    ``sum_t obs_t (x_t - c_t)^2 = const - 2 x.c + obs.c^2``. Rows are processed in cache-sized
    chunks (one torch matmul each; ``||x||^2`` is dropped, it does not change the argmin).
    """
    import torch

    C = torch.from_numpy(np.ascontiguousarray(centroids, dtype=np.float32))
    CT = C.T.contiguous()
    Csq = (C * C)
    C2 = Csq.sum(1)[None, :]
    out = np.empty(len(X), np.int64)
    for s in range(0, len(X), chunk):
        x = X[s:s + chunk]
        m = None if M is None else M[s:s + chunk]
        if m is not None and m.any():
            obs = torch.from_numpy((~m).astype(np.float32))
            xt = torch.from_numpy(np.where(m, 0.0, x).astype(np.float32))
            d = torch.addmm(obs @ Csq.T, xt, CT, alpha=-2.0)
        else:
            xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
            d = torch.addmm(C2, xt, CT, alpha=-2.0)
        out[s:s + chunk] = np.argmin(d.numpy(), axis=1)
    return out


def kmeans(X: np.ndarray, k: int, seed: int = 0, max_iter: int = 100, batch_size: int = 4096
           ) -> tuple[np.ndarray, np.ndarray]:
    """Seeded mini-batch k-means on ``X`` (n, T) -> ``(centroids (k, T) float32, labels (n,))``.

    scikit-learn's ``MiniBatchKMeans`` (k-means++ seeding on ``3 x batch_size`` windows,
    ``batch_size`` windows per step, at most ``max_iter`` passes, stopped after 10 steps without
    improvement; Sculley 2010): on the 100,000 x 300 bound windows of ``bench/tokenize.py``, K =
    512, it reaches the inertia of full-batch Lloyd k-means (ratio there) in a fraction of the
    time. Labels are the nearest centroids of the final codebook (:func:`nearest`). Same ``X``
    and ``seed``: same result.
    """
    from sklearn.cluster import MiniBatchKMeans

    X = np.ascontiguousarray(X, dtype=np.float32)
    k = min(k, len(X))
    km = MiniBatchKMeans(n_clusters=k, init="k-means++", n_init=1, batch_size=batch_size,
                         max_iter=max_iter, random_state=seed, reassignment_ratio=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        km.fit(X)
    logger.info("k-means: %d steps (%.1f passes)", km.n_steps_,
                km.n_steps_ * batch_size / max(1, len(X)))
    C = km.cluster_centers_.astype(np.float32)
    return C, nearest(X, C)


class _Sample:
    """Seeded uniform sample without replacement (bottom-k of random keys) of streamed rows."""

    def __init__(self, k: int):
        self.k, self.parts, self.n, self.cut = k, [], 0, np.inf

    def add(self, keys: np.ndarray, *arrays: np.ndarray) -> None:
        sel = keys < self.cut                      # rows that could still enter the bottom-k
        if sel.any():
            self.parts.append((keys[sel],) + tuple(a[sel] for a in arrays))
            self.n += int(sel.sum())
        if self.n > 2 * self.k:
            self._compact()

    def _compact(self) -> None:
        if not self.parts:
            return
        cols = [np.concatenate(c) for c in zip(*self.parts)]
        keys = cols[0]
        if len(keys) > self.k:
            idx = np.sort(np.argpartition(keys, self.k - 1)[:self.k])
            cols = [c[idx] for c in cols]
            self.cut = float(cols[0].max())
        self.parts, self.n = [tuple(cols)], len(cols[0])

    def rows(self) -> list[np.ndarray]:
        self._compact()
        return list(self.parts[0][1:]) if self.parts else []


def auto_null_threshold(n_tfs: int, alpha: float = 0.05) -> float:  # noqa: D401
    """Default null threshold: ``Phi^-1(1 - alpha / T)`` robust SDs (3.0 at 40 TFs, 3.6 at 300).

    A background window whose T TFs are Gaussian noise in robust units is called bound with
    probability <= ``alpha`` (Bonferroni over the TFs).
    """
    from scipy.stats import norm

    return float(norm.isf(alpha / max(1, n_tfs)))


WindowChunks = Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]


def fit_vocabulary_chunks(chunks: WindowChunks, tfs: list[str], *, vocab_size: int = 512,
                          seed: int = 0, null_threshold: float | None = None,
                          max_fit_windows: int = 100_000, max_iter: int = 100,
                          calibrated: bool = False, alpha: float = 0.05, n_windows: int = 0,
                          stride: int = 50, summit_frac: float | None = None) -> Vocabulary:
    """Fit a :class:`Vocabulary` streaming over chunks of window vectors (two passes).

    ``chunks()`` yields ``(X (n, T) float32, M (n, T) bool)``, rows grouped by gene
    (``n_windows`` consecutive rows per gene); it is called twice. Both passes keep a seeded
    uniform sample (bottom-k of random keys) of at most ``max_fit_windows`` windows: all observed
    windows for the background, bound fully observed ones for k-means. ``calibrated``: the values
    are enrichment z-scores (module docstring); ``alpha`` sets the default threshold; ``stride``
    (bp) the summit reach; ``summit_frac`` None = ``SUMMIT_FRAC`` when calibrated, else 0.
    """
    if vocab_size < 2:
        raise TfvocabError(f"--vocab-size must be >= 2 (got {vocab_size})",
                           hint="it counts the learned tokens; mask and null tokens are extra")
    T = len(tfs)
    if null_threshold is None:
        null_threshold = auto_null_threshold(T, alpha)
    if summit_frac is None:
        summit_frac = SUMMIT_FRAC if calibrated else 0.0
    rule = {"n_windows": int(n_windows), "summit_frac": float(summit_frac),
            "summit_reach": max(1, int(round(SUMMIT_BP / max(1, int(stride))))) if summit_frac else 0}
    rng = np.random.default_rng(seed)
    # pass 1: background sample
    bg = _Sample(max_fit_windows)
    for X, M in chunks():
        obs = ~M.all(axis=1)
        keys = rng.random(len(X))
        bg.add(keys[obs], X[obs], M[obs])
    if not bg.parts:
        raise TfvocabError("every window is masked: nothing to learn a vocabulary from")
    center, scale, bound = background(*bg.rows(), null_threshold, calibrated)
    # pass 2: sample of bound, fully observed windows
    fit = _Sample(max_fit_windows)
    n_bound = n_null = 0
    for X, M in chunks():
        on = calls(X, M, center, scale, null_threshold, **rule)
        missing = M.all(axis=1)
        null = ~missing & ~on.any(axis=1)
        n_null += int(null.sum())
        cand = ~missing & ~null & ~M.any(axis=1)
        n_bound += int((~missing & ~null).sum())
        keys = rng.random(len(X))
        fit.add(keys[cand], binding_vectors(X[cand], on[cand]) if calibrated else X[cand])
    fit_rows = fit.rows()
    fit_x = fit_rows[0].astype(np.float32) if fit_rows else np.empty((0, T), np.float32)
    logger.info("%d bound windows, %d null windows (threshold %.3g%s%s); fitting on %d",
                n_bound, n_null, null_threshold, " z" if calibrated else " robust SD",
                f", summit >= {summit_frac:g} within {rule['summit_reach']} windows" if summit_frac else "",
                len(fit_x))
    k = vocab_size
    if len(fit_x) == 0:
        logger.warning("no bound window: the vocabulary has only the mask and null tokens")
        k = 0
    else:
        n_distinct = len(np.unique(fit_x, axis=0))
        if n_distinct < vocab_size:
            logger.warning("only %d distinct bound windows: vocabulary size clamped from %d to %d",
                           n_distinct, vocab_size, n_distinct)
            k = n_distinct
    rows = [np.zeros((1, T), np.float32), (np.zeros(T, np.float32) if calibrated else center)[None, :]]
    if k:
        with timed(f"k-means: {k} clusters on {len(fit_x)} windows x {T} TFs", logger):
            C, labels = kmeans(fit_x, k, seed=int(rng.integers(2**31 - 1)), max_iter=max_iter)
        order = np.lexsort((np.arange(k), -np.bincount(labels, minlength=k)))
        rows.append(C[order])
    codebook = np.concatenate(rows).astype(np.float32)
    return Vocabulary(tfs=list(tfs), codebook=codebook, center=center, scale=scale, bound=bound,
                      null_threshold=float(null_threshold), calibrated=bool(calibrated),
                      summit_frac=rule["summit_frac"], summit_reach=rule["summit_reach"],
                      n_windows=int(n_windows))


def fit_vocabulary(X: np.ndarray, M: np.ndarray | None = None, tfs: list[str] | None = None,
                   **kwargs) -> Vocabulary:
    """Fit a :class:`Vocabulary` on window vectors ``X`` (N, T) with mask ``M`` (N, T).

    Keyword options as :func:`fit_vocabulary_chunks` (vocab_size, seed, null_threshold,
    max_fit_windows, max_iter, calibrated, alpha, n_windows, stride, summit_frac).
    """
    X = np.asarray(X, np.float32)
    M = np.isnan(X) if M is None else np.asarray(M, bool) | np.isnan(X)
    tfs = list(tfs) if tfs is not None else [f"tf{i}" for i in range(X.shape[1])]
    return fit_vocabulary_chunks(lambda: [(X, M)], tfs, **kwargs)


def vocab_calls(X: np.ndarray, M: np.ndarray, vocab: Vocabulary) -> np.ndarray:
    """Per-TF calls (N, T) of window vectors under ``vocab``'s rule (rows grouped by gene,
    ``vocab.n_windows`` each, for the summit rule)."""
    return calls(X, M, vocab.center, vocab.scale, vocab.null_threshold, n_windows=vocab.n_windows,
                 summit_frac=vocab.summit_frac, summit_reach=vocab.summit_reach)


def assign(X: np.ndarray, M: np.ndarray | None, vocab: Vocabulary) -> np.ndarray:
    """Tokens int32 (N,) of window vectors ``X`` (N, T) (mask ``M`` (N, T), True = missing).

    Rows grouped by gene (``vocab.n_windows`` consecutive rows each) get the summit rule; other
    row counts are called without it."""
    X = np.asarray(X, np.float32)
    M = np.isnan(X) if M is None else np.asarray(M, bool) | np.isnan(X)
    on = vocab_calls(X, M, vocab)
    missing = M.all(axis=1)
    null = ~missing & ~on.any(axis=1)
    tokens = np.full(len(X), NULL_TOKEN, np.int32)
    tokens[missing] = MASK_TOKEN
    bound = np.flatnonzero(~missing & ~null)
    if vocab.n_tokens > N_SPECIAL and len(bound):
        xb = binding_vectors(X[bound], on[bound]) if vocab.calibrated else X[bound]
        tokens[bound] = N_SPECIAL + nearest(xb, vocab.codebook[N_SPECIAL:], M[bound])
    return tokens


def call_summary(tokens: np.ndarray, on: np.ndarray, vocab: Vocabulary) -> tuple[np.ndarray, np.ndarray]:
    """Per window (N,): any TF called, and every top TF of its token called (False for the
    mask / null tokens). ``tokens`` (N,), ``on`` (N, T) calls (:func:`vocab_calls`)."""
    tops = top_tfs(vocab.scores())
    top_all = np.zeros(len(tokens), bool)
    for k in np.unique(tokens):
        if k < N_SPECIAL or not len(tops[k]):
            continue
        sel = tokens == k
        top_all[sel] = on[np.ix_(sel, tops[k])].all(axis=1)
    return on.any(axis=1), top_all


def token_table(tokens: np.ndarray, window_start: np.ndarray, vocab: Vocabulary,
                n_bins: int = 10, any_call: np.ndarray | None = None,
                top_called: np.ndarray | None = None) -> tuple["object", np.ndarray]:
    """The ``vocabulary.tsv`` rows for ``tokens`` (G, W) -> (DataFrame, bin edges (n_bins+1,)).

    ``offset_hist``: counts of the token per promoter-position bin (equal-width bins over the
    window start offsets, bp relative to the start codon; edges returned), ';'-separated.
    ``any_call`` / ``top_called`` (G, W) bool (:func:`call_summary`): give the columns
    ``enriched_frac`` (fraction of the token's windows with a call) and ``top_tfs_called``
    (fraction in which every top TF of the token is called); NaN when not given or no window.
    """
    import pandas as pd

    K = vocab.n_tokens
    G, W = tokens.shape
    flat = tokens.ravel()
    counts = np.bincount(flat, minlength=K)
    ws = np.asarray(window_start, np.float64)
    edges = np.linspace(ws.min(), ws.max() + 1, n_bins + 1) if W else np.zeros(n_bins + 1)
    win_bin = np.clip(np.searchsorted(edges, ws, side="right") - 1, 0, n_bins - 1)
    hist = np.zeros((K, n_bins), np.int64)
    np.add.at(hist, (flat, np.tile(win_bin, G)), 1)
    off_sum = np.bincount(flat, weights=np.tile(ws, G), minlength=K)
    scores = vocab.scores()
    tops = top_tfs(scores)

    def frac(flag):
        if flag is None:
            return np.full(K, np.nan)
        n = np.bincount(flat, weights=np.asarray(flag, np.float64).ravel(), minlength=K)
        return np.where(counts > 0, n / np.maximum(counts, 1), np.nan)

    enr, topc = frac(any_call), frac(top_called)
    rows = []
    for i in range(K):
        kind = "mask" if i == MASK_TOKEN else "unbound" if i == NULL_TOKEN else "cluster"
        idx = tops[i] if kind == "cluster" else np.array([], int)
        rows.append({
            "token": i, "kind": kind, "count": int(counts[i]),
            "frequency": counts[i] / max(1, flat.size),
            "top_tfs": ",".join(vocab.tfs[j] for j in idx),
            "top_weights": ",".join(f"{scores[i, j]:.3f}" for j in idx),
            "mean_offset": (off_sum[i] / counts[i]) if counts[i] else float("nan"),
            "offset_hist": ";".join(str(int(c)) for c in hist[i]),
            "enriched_frac": enr[i],
            "top_tfs_called": topc[i] if kind == "cluster" and len(idx) else float("nan"),
        })
    return pd.DataFrame(rows), edges


def plot_vocabulary(path: Path, vocab: Vocabulary, counts: np.ndarray, n_top: int = 40,
                    max_tfs: int = 60) -> None:
    """Heatmap of the binding scores of the ``n_top`` most frequent cluster tokens x TFs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    K = vocab.n_tokens
    cl = np.arange(N_SPECIAL, K)
    cl = cl[np.argsort(-counts[cl], kind="stable")][:n_top]
    scores = vocab.scores()
    T = len(vocab.tfs)
    if T <= max_tfs:
        cols = np.arange(T)
    else:
        seen = []
        for i in cl:
            for j in top_tfs(scores[i])[0]:
                if j not in seen:
                    seen.append(int(j))
        cols = np.array(seen[:max_tfs] or list(range(min(T, max_tfs))), int)
    fig, ax = plt.subplots(figsize=(max(6, 0.22 * len(cols) + 2), max(4, 0.22 * len(cl) + 1.5)))
    if len(cl):
        im = ax.imshow(np.clip(scores[np.ix_(cl, cols)], -0.5, 1.5), aspect="auto",
                       cmap="viridis", vmin=-0.5, vmax=1.5, interpolation="nearest")
        fig.colorbar(im, ax=ax, label="binding score (0 background, 1 typical bound)")
        ax.set_yticks(range(len(cl)))
        ax.set_yticklabels([f"{i} (n={counts[i]})" for i in cl], fontsize=6)
        ax.set_xticks(range(len(cols)))
        ax.set_xticklabels([vocab.tfs[j] for j in cols], rotation=90, fontsize=6)
    else:
        ax.text(0.5, 0.5, "no cluster tokens", ha="center", va="center")
    ax.set_title(f"TF vocabulary: {len(cl)} most frequent of {K - N_SPECIAL} tokens")
    ax.set_xlabel("TF")
    ax.set_ylabel("token")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def align_vocabulary(vocab: Vocabulary, tfs: list[str], path: str | None = None) -> Vocabulary:
    """Reorder a codebook's TF axis to ``tfs``; the TF sets must be identical."""
    if sorted(vocab.tfs) != sorted(tfs):
        extra = sorted(set(tfs) - set(vocab.tfs))
        missing = sorted(set(vocab.tfs) - set(tfs))
        raise TfvocabError(f"codebook TFs do not match the data's TFs (not in codebook: "
                           f"{', '.join(extra[:10]) or '-'}; missing from data: "
                           f"{', '.join(missing[:10]) or '-'})", path=path,
                           hint="normalise the new data with --stats of the original run")
    pos = {t: i for i, t in enumerate(vocab.tfs)}
    o = np.array([pos[t] for t in tfs], np.int64)
    return Vocabulary(tfs=list(tfs), codebook=vocab.codebook[:, o], center=vocab.center[o],
                      scale=vocab.scale[o], bound=vocab.bound[o],
                      null_threshold=vocab.null_threshold, calibrated=vocab.calibrated,
                      summit_frac=vocab.summit_frac, summit_reach=vocab.summit_reach,
                      n_windows=vocab.n_windows)


def input_calibration(stats_attrs: dict, stride: int) -> dict:
    """How ``normalized.h5`` was made, for the call rule: ``calibrated`` (its stats say the values
    are enrichment z-scores), ``alpha`` and ``stride`` (bp). ``stats_attrs``: the ``attrs`` of
    its stats record (:func:`tfvocab.formats.read_stats`)."""
    return {"calibrated": bool(stats_attrs.get("enrichment", False)),
            "alpha": float(stats_attrs.get("alpha", 0.05)), "stride": int(stride)}


# ---------------------------------------------------------------- the vocabulary of a tokens.h5

def vocabulary_arrays(vocab: Vocabulary) -> tuple[dict, dict]:
    """The per-TF arrays and the attributes that ``tokens.h5`` stores for ``vocab``."""
    arrays, attrs = {}, {}
    for f in dataclasses.fields(vocab):
        v = getattr(vocab, f.name)
        if f.name in ("tfs", "codebook"):
            continue
        if isinstance(v, np.ndarray):
            arrays[f.name] = v
        else:
            attrs[f.name] = v
    return arrays, attrs


def vocabulary_from_tokens(rec: dict, path: str | None = None) -> Vocabulary:
    """The :class:`Vocabulary` of a :func:`tfvocab.formats.read_tokens` record."""
    kw = {"tfs": list(rec["tfs"]), "codebook": rec["codebook"]}
    for f in dataclasses.fields(Vocabulary):
        if f.name in kw:
            continue
        if f.name in rec["arrays"]:
            kw[f.name] = np.asarray(rec["arrays"][f.name], np.float32)
        elif f.name in rec and rec[f.name] is not None:
            kw[f.name] = rec[f.name]
        elif f.name in rec.get("attrs", {}):
            v = rec["attrs"][f.name]
            kw[f.name] = type(f.default)(v) if f.default is not dataclasses.MISSING else v
        elif f.default is dataclasses.MISSING:
            raise TfvocabError(f"the vocabulary lacks '{f.name}' (written by another tfvocab?)",
                               path=path, hint="rerun `tfvocab tokenize`")
    return Vocabulary(**kw)


__all__ = ["Vocabulary", "MASK_TOKEN", "NULL_TOKEN", "N_SPECIAL", "TOP_SCORE", "background",
           "window_kinds", "calls", "vocab_calls", "binding_vectors", "call_summary",
           "nearest", "kmeans", "fit_vocabulary", "fit_vocabulary_chunks",
           "assign", "binding_scores", "top_tfs", "token_table", "plot_vocabulary",
           "align_vocabulary", "vocabulary_arrays", "vocabulary_from_tokens"]
