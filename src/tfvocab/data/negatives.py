"""Negative (unlabelled) pairs for training, drawn among a set of genes (pure array code).

Labels are positive-unlabelled: a listed pair is a positive, every other pair is unlabelled.
The schemes (``tfvocab train --negatives``):

* ``universe`` - a fresh uniform sample of the training universe (every pair among the training
  genes, listed genes or not, minus the listed pairs) every epoch: the model sees the pairs the
  evaluation ranks, in their proportions, and never the same negatives twice;
* ``uniform`` - one uniform sample of the training universe, drawn once (fixed for all epochs);
* ``degree`` - one sample whose endpoints follow the positives' degree distribution
  (:func:`degree_weights`), drawn once: no "hub" shortcut, but pairs of genes without listed
  partners are never negatives, so the model learns nothing about them;
* ``mixed`` - every epoch, half fresh ``universe`` pairs and half fresh ``degree`` pairs (hard
  negatives between listed genes plus the bulk);
* ``listed`` - the label-0 rows of a hand-made ``pairs.tsv`` (legacy single-split files).

All functions work on local gene indices ``0..n-1`` of the gene set and on pair indices of
:mod:`tfvocab.data.universe`; they never return a self-pair or a listed pair.
"""
from __future__ import annotations

import numpy as np

from . import universe as U
from ..errors import TfvocabError

SCHEMES = ("universe", "uniform", "degree", "mixed", "listed")


def degree_weights(degree: np.ndarray, excl_a: np.ndarray, excl_b: np.ndarray,
                   n_iter: int = 30) -> np.ndarray:
    """Endpoint sampling weights (n,) such that, after rejecting self-pairs and excluded pairs,
    each gene's share of negative endpoints equals its share of positive endpoints
    (``degree / degree.sum()``).

    ``degree``: (n,) degree in the positive graph; ``excl_a, excl_b``: (E,) gene indices of
    pairs that are never sampled. Fixed point of ``w = degree / acceptance(w)`` where
    ``acceptance_g = 1 - (w_g + sum_{h excluded with g} w_h) / sum(w)``.
    """
    from scipy import sparse

    n = len(degree)
    deg = degree.astype(float)
    adj = sparse.coo_matrix((np.ones(2 * len(excl_a)), (np.concatenate([excl_a, excl_b]),
                                                        np.concatenate([excl_b, excl_a]))),
                            shape=(n, n)).tocsr()
    w = deg / max(deg.sum(), 1.0)
    for _ in range(n_iter):
        total = w.sum()
        acc = 1.0 - (w + adj @ w) / total
        acc = np.clip(acc, 1e-3, 1.0)
        w_new = np.where(deg > 0, deg / acc, 0.0)
        w_new /= w_new.sum()
        if np.abs(w_new - w).max() < 1e-12:
            w = w_new
            break
        w = w_new
    return w


def weighted_pairs(p: np.ndarray, listed_sorted: np.ndarray, size: int, rng: np.random.Generator,
                   max_rounds: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """``size`` distinct pairs (i < j) whose endpoints are drawn with probabilities ``p`` (n,),
    minus self-pairs and ``listed_sorted`` pairs (sorted pair indices). Fewer when the support
    runs out. Returns local ``(i, j)`` int64."""
    n = len(p)
    support = np.flatnonzero(p > 0)
    m = len(support)
    if m < 2 or size <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    sub = p[support] / p[support].sum()
    chosen = np.empty(0, np.int64)
    for _ in range(max_rounds):
        batch = max(2 * (size - len(chosen)), 1024)
        a = support[rng.choice(m, size=batch, p=sub)]
        b = support[rng.choice(m, size=batch, p=sub)]
        ok = a != b
        t = U.tri_index(a[ok], b[ok], n)
        if len(listed_sorted):
            pos = np.clip(np.searchsorted(listed_sorted, t), 0, len(listed_sorted) - 1)
            t = t[listed_sorted[pos] != t]
        _, first = np.unique(t, return_index=True)
        t = t[np.sort(first)]
        t = t[~np.isin(t, chosen)]
        chosen = np.concatenate([chosen, t[: size - len(chosen)]])
        if len(chosen) >= size:
            break
    i, j = U.tri_pairs(chosen, n)
    return i.astype(np.int64), j.astype(np.int64)


def uniform_distinct(n: int, listed_sorted: np.ndarray, size: int, rng: np.random.Generator,
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``size`` distinct uniform pairs among ``n`` genes outside ``listed_sorted`` (all of them
    when fewer exist)."""
    N = U.n_pairs(n)
    free = N - len(listed_sorted)
    size = min(int(size), free)
    if size <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if free <= 4 * size or N <= 2_000_000:
        keep = np.ones(N, bool)
        keep[listed_sorted] = False
        t = np.flatnonzero(keep)
        t = np.sort(rng.choice(t, size=size, replace=False)) if size < len(t) else t
    else:
        t = np.empty(0, np.int64)
        while len(t) < size:
            ti, tj = U.sample_unlabelled(n, listed_sorted, 2 * (size - len(t)), rng)
            t = np.unique(np.concatenate([t, U.tri_index(ti, tj, n)]))
        t = np.sort(rng.choice(t, size=size, replace=False))
    i, j = U.tri_pairs(t, n)
    return i.astype(np.int64), j.astype(np.int64)


class NegativeSampler:
    """Negatives among ``n`` training genes for one training run.

    ``pa, pb`` (P,) local indices of the training positives; ``listed_sorted`` sorted pair
    indices never drawn (every listed pair among the genes); ``scheme`` one of
    :data:`SCHEMES` (``listed`` needs ``fixed``: the given negatives (ia, ib) local);
    ``ratio`` negatives per positive. :meth:`epoch` returns the negatives of an epoch: a fresh
    draw (``universe``, seeded by ``(seed, epoch)``) or the same fixed draw every time.
    """

    def __init__(self, n: int, pa, pb, listed_sorted, scheme: str = "universe", ratio: float = 10.0,
                 seed: int = 0, fixed: tuple[np.ndarray, np.ndarray] | None = None):
        if scheme not in SCHEMES:
            raise TfvocabError(f"unknown negative scheme {scheme!r}", hint=f"use one of {', '.join(SCHEMES)}")
        if ratio < 0:
            raise TfvocabError(f"--neg-ratio must be >= 0, got {ratio}")
        self.n, self.scheme, self.ratio, self.seed = int(n), scheme, float(ratio), int(seed)
        self.pa, self.pb = np.asarray(pa, np.int64), np.asarray(pb, np.int64)
        self.listed = np.asarray(listed_sorted, np.int64)
        self.size = int(round(self.ratio * len(self.pa)))
        self._fixed = None
        rng = np.random.default_rng([self.seed, 17])
        if scheme == "listed":
            if fixed is None:
                raise TfvocabError("--negatives listed needs label-0 rows in pairs.tsv")
            self._fixed = (np.asarray(fixed[0], np.int64), np.asarray(fixed[1], np.int64))
        elif scheme == "uniform":
            self._fixed = uniform_distinct(self.n, self.listed, self.size, rng)
        elif scheme in ("degree", "mixed"):
            deg = np.bincount(np.concatenate([self.pa, self.pb]), minlength=self.n)
            la, lb = U.tri_pairs(self.listed, self.n)
            self._p = degree_weights(deg, la.astype(np.int64), lb.astype(np.int64))
            if scheme == "degree":
                self._fixed = weighted_pairs(self._p, self.listed, self.size, rng)

    def epoch(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """Local ``(i, j)`` of the negatives of ``epoch`` (1-based)."""
        if self._fixed is not None:
            return self._fixed
        rng = np.random.default_rng([self.seed, 23, int(epoch)])
        if self.scheme == "mixed":
            half = self.size // 2
            da, db = weighted_pairs(self._p, self.listed, half, rng)
            ua, ub = U.sample_unlabelled(self.n, self.listed, self.size - len(da), rng)
            return np.concatenate([da, ua]), np.concatenate([db, ub])
        return U.sample_unlabelled(self.n, self.listed, self.size, rng)
