"""The TF vocabulary: k-means tokens of 50 bp window vectors (blueprint III.B.5, V.B).

Every promoter window is a T-dim vector of normalised TF signal (``normalized.h5``). Each window
gets one integer token:

* ``MASK_TOKEN = 0``: the window is missing (no TF observed there).
* ``NULL_TOKEN = 1``: "no binding": every *observed* TF is below ``null_threshold`` robust
  standard deviations above its background, i.e. ``(x_t - center_t) / scale_t < threshold`` for
  all observed t, where ``center_t`` is the TF's median over windows (most windows are unbound)
  and ``scale_t`` = 1.4826 x its median absolute deviation (falling back to the standard
  deviation, then 1, when the MAD is 0 — e.g. a TF whose background is all zeros). The default
  threshold is :func:`auto_null_threshold` = Phi^-1(1 - 0.05/T) (Bonferroni over the T TFs:
  3.0 at 40 TFs, 3.6 at 300), so pure-noise windows are rarely called bound.
* ``2 .. K+1``: k-means clusters of the bound windows, numbered by decreasing frequency.

Fitting: k-means++ seeding then Lloyd iterations (torch matmuls, float64 centroid sums) on a
seeded uniform subsample (at most ``max_fit_windows``) of bound, fully observed windows; then
every window is assigned to its nearest centroid in chunks. Partially masked windows use the
distance over their observed TFs only (missing is never read as "not bound"). The number of
clusters is clamped (with a warning) to the number of distinct bound windows.

**Top TFs of a token** (used in ``vocabulary.tsv`` and by the tests): a centroid's *binding
score* for TF t is ``(c_t - center_t) / (bound_t - center_t)``, where ``bound_t`` is the TF's
mean level over its bound windows (above the null threshold): 0 = background, 1 = a typical
bound window. The top TFs are those with score >= ``TOP_SCORE`` (0.5: the centroid is at least
half-way from background to that TF's typical bound level), by decreasing score.

The codebook (K+2, T) holds the centroids in normalised units; row 0 (mask) is zeros and row 1
(null) is the background ``center``. ``center``, ``scale``, ``bound`` and the threshold are
stored with it in ``tokens.h5`` so ``--codebook`` tokenises new data identically.
"""
from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from .errors import TfvocabError
from .io import atomic_path, sha256_array
from .log import get_logger, progress, timed

logger = get_logger("vocabulary")

MASK_TOKEN = 0
NULL_TOKEN = 1
N_SPECIAL = 2
TOP_SCORE = 0.5
MAD_TO_SD = 1.4826
CHUNK_GENES = 256


@dataclasses.dataclass
class Vocabulary:
    """A fitted TF vocabulary.

    ``codebook`` float32 (K+2, T): token i's centroid in normalised units (rows 0/1 special).
    ``center``, ``scale``, ``bound`` float32 (T,): per-TF background level, robust spread and
    mean bound level (normalised units). ``null_threshold``: robust SDs above background that
    count as binding. ``tfs``: TF names (T,).
    """

    tfs: list[str]
    codebook: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    bound: np.ndarray
    null_threshold: float

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


def background(X: np.ndarray, M: np.ndarray, null_threshold: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-TF background ``center``, robust ``scale`` and mean ``bound`` level, each (T,).

    ``X``: (N, T) window vectors (any value where masked), ``M``: (N, T) bool, True = missing.
    """
    Y = np.where(M, np.nan, X).astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        center = np.nanmedian(Y, axis=0)
        scale = MAD_TO_SD * np.nanmedian(np.abs(Y - center), axis=0)
        sd = np.nanstd(Y, axis=0)
    center = np.nan_to_num(center)
    sd = np.nan_to_num(sd)
    scale = np.where(np.nan_to_num(scale) > 1e-6, scale, np.where(sd > 1e-6, sd, 1.0))
    on = (Y - center) / scale >= null_threshold
    n_on = on.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        bound = np.where(n_on > 0, np.where(on, Y, 0.0).sum(axis=0) / np.maximum(n_on, 1),
                         center + 2 * null_threshold * scale)
    bound = np.maximum(bound, center + null_threshold * scale)
    return center.astype(np.float32), scale.astype(np.float32), bound.astype(np.float32)


def window_kinds(X: np.ndarray, M: np.ndarray, center: np.ndarray, scale: np.ndarray,
                 null_threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """``(missing, null)`` bool (N,) for window vectors ``X`` (N, T) with mask ``M`` (N, T)."""
    missing = M.all(axis=1)
    with np.errstate(invalid="ignore"):
        on = ((X - center) / scale >= null_threshold) & ~M
    null = ~missing & ~on.any(axis=1)
    return missing, null


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


def kmeans(X: np.ndarray, k: int, seed: int = 0, max_iter: int = 100, tol: float = 1e-4
           ) -> tuple[np.ndarray, np.ndarray]:
    """Seeded k-means (k-means++ init + Lloyd) on ``X`` (n, T) -> ``(centroids (k, T), labels (n,))``.

    Converges when the total squared centroid shift is <= ``tol`` x the mean per-TF variance
    (sklearn's criterion). Empty clusters are re-seeded with the points farthest from their
    centroid (deterministic).
    """
    import torch
    from sklearn.cluster import kmeans_plusplus

    X = np.ascontiguousarray(X, dtype=np.float32)
    n = len(X)
    k = min(k, n)
    rng = np.random.default_rng(seed)
    init_n = min(n, max(20 * k, 10000))
    init_idx = np.sort(rng.choice(n, size=init_n, replace=False)) if init_n < n else np.arange(n)
    C, _ = kmeans_plusplus(X[init_idx], k, random_state=int(rng.integers(2**31 - 1)))
    C = C.astype(np.float32)
    Xt = torch.from_numpy(X)
    Xd = Xt.double()
    thresh = tol * float(X.var(axis=0).mean())
    labels = nearest(X, C)
    for it in range(max_iter):
        lab = torch.from_numpy(labels)
        sums = torch.zeros((k, X.shape[1]), dtype=torch.float64).index_add_(0, lab, Xd)
        counts = np.bincount(labels, minlength=k)
        newC = (sums.numpy() / np.maximum(counts, 1)[:, None]).astype(np.float32)
        empty = np.flatnonzero(counts == 0)
        if len(empty):
            dist = ((X - newC[labels]) ** 2).sum(1)
            far = np.argsort(-dist, kind="stable")[:len(empty)]
            newC[empty] = X[far]
        shift = float(((newC - C) ** 2).sum())
        C = newC
        labels = nearest(X, C)
        if shift <= thresh and not len(empty):
            logger.info("k-means converged after %d iterations", it + 1)
            break
    return C, labels


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


def auto_null_threshold(n_tfs: int, alpha: float = 0.05) -> float:
    """Default null threshold: ``Phi^-1(1 - alpha / T)`` robust SDs (3.0 at 40 TFs, 3.6 at 300).

    A background window whose T TFs are Gaussian noise in robust units is called bound with
    probability <= ``alpha`` (Bonferroni over the TFs).
    """
    from scipy.stats import norm

    return float(norm.isf(alpha / max(1, n_tfs)))


WindowChunks = Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]


def fit_vocabulary_chunks(chunks: WindowChunks, tfs: list[str], *, vocab_size: int = 512,
                          seed: int = 0, null_threshold: float | None = None,
                          max_fit_windows: int = 100_000, max_iter: int = 100) -> Vocabulary:
    """Fit a :class:`Vocabulary` streaming over chunks of window vectors (two passes).

    ``chunks()`` yields ``(X (n, T) float32, M (n, T) bool)``; it is called twice. Both passes
    keep a seeded uniform sample (bottom-k of random keys) of at most ``max_fit_windows``
    windows: all observed windows for the background, bound fully observed ones for k-means.
    """
    if vocab_size < 2:
        raise TfvocabError(f"--vocab-size must be >= 2 (got {vocab_size})",
                           hint="it counts the learned tokens; mask and null tokens are extra")
    T = len(tfs)
    if null_threshold is None:
        null_threshold = auto_null_threshold(T)
    rng = np.random.default_rng(seed)
    # pass 1: background sample
    bg = _Sample(max_fit_windows)
    for X, M in chunks():
        obs = ~M.all(axis=1)
        keys = rng.random(len(X))
        bg.add(keys[obs], X[obs], M[obs])
    if not bg.parts:
        raise TfvocabError("every window is masked: nothing to learn a vocabulary from")
    center, scale, bound = background(*bg.rows(), null_threshold)
    # pass 2: sample of bound, fully observed windows
    fit = _Sample(max_fit_windows)
    n_bound = n_null = 0
    for X, M in chunks():
        missing, null = window_kinds(X, M, center, scale, null_threshold)
        n_null += int(null.sum())
        cand = ~missing & ~null & ~M.any(axis=1)
        n_bound += int((~missing & ~null).sum())
        keys = rng.random(len(X))
        fit.add(keys[cand], X[cand])
    fit_rows = fit.rows()
    fit_x = fit_rows[0].astype(np.float32) if fit_rows else np.empty((0, T), np.float32)
    logger.info("%d bound windows, %d null windows (threshold %.3g robust SD); fitting on %d",
                n_bound, n_null, null_threshold, len(fit_x))
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
    rows = [np.zeros((1, T), np.float32), center[None, :]]
    if k:
        with timed(f"k-means: {k} clusters on {len(fit_x)} windows x {T} TFs", logger):
            C, labels = kmeans(fit_x, k, seed=int(rng.integers(2**31 - 1)), max_iter=max_iter)
        order = np.lexsort((np.arange(k), -np.bincount(labels, minlength=k)))
        rows.append(C[order])
    codebook = np.concatenate(rows).astype(np.float32)
    return Vocabulary(tfs=list(tfs), codebook=codebook, center=center, scale=scale, bound=bound,
                      null_threshold=float(null_threshold))


def fit_vocabulary(X: np.ndarray, M: np.ndarray | None = None, tfs: list[str] | None = None,
                   **kwargs) -> Vocabulary:
    """Fit a :class:`Vocabulary` on window vectors ``X`` (N, T) with mask ``M`` (N, T).

    Keyword options as :func:`fit_vocabulary_chunks` (vocab_size, seed, null_threshold,
    max_fit_windows, max_iter).
    """
    X = np.asarray(X, np.float32)
    M = np.isnan(X) if M is None else np.asarray(M, bool) | np.isnan(X)
    tfs = list(tfs) if tfs is not None else [f"tf{i}" for i in range(X.shape[1])]
    return fit_vocabulary_chunks(lambda: [(X, M)], tfs, **kwargs)


def assign(X: np.ndarray, M: np.ndarray | None, vocab: Vocabulary) -> np.ndarray:
    """Tokens int32 (N,) of window vectors ``X`` (N, T) (mask ``M`` (N, T), True = missing)."""
    X = np.asarray(X, np.float32)
    M = np.isnan(X) if M is None else np.asarray(M, bool) | np.isnan(X)
    missing, null = window_kinds(X, M, vocab.center, vocab.scale, vocab.null_threshold)
    tokens = np.full(len(X), NULL_TOKEN, np.int32)
    tokens[missing] = MASK_TOKEN
    bound = np.flatnonzero(~missing & ~null)
    if vocab.n_tokens > N_SPECIAL and len(bound):
        tokens[bound] = N_SPECIAL + nearest(X[bound], vocab.codebook[N_SPECIAL:], M[bound])
    return tokens


def token_table(tokens: np.ndarray, window_start: np.ndarray, vocab: Vocabulary,
                n_bins: int = 10) -> tuple["object", np.ndarray]:
    """The ``vocabulary.tsv`` rows for ``tokens`` (G, W) -> (DataFrame, bin edges (n_bins+1,)).

    ``offset_hist``: counts of the token per promoter-position bin (equal-width bins over the
    window start offsets, bp relative to the start codon; edges returned), ';'-separated.
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
                      null_threshold=vocab.null_threshold)


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
        elif f.default is dataclasses.MISSING:
            raise TfvocabError(f"the vocabulary lacks '{f.name}' (written by another tfvocab?)",
                               path=path, hint="rerun `tfvocab tokenize`")
    return Vocabulary(**kw)


__all__ = ["Vocabulary", "MASK_TOKEN", "NULL_TOKEN", "N_SPECIAL", "TOP_SCORE", "background",
           "window_kinds", "nearest", "kmeans", "fit_vocabulary", "fit_vocabulary_chunks",
           "assign", "binding_scores", "top_tfs", "token_table", "plot_vocabulary",
           "align_vocabulary", "vocabulary_arrays", "vocabulary_from_tokens"]
