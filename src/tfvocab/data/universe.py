"""The universe of a gene set: every unordered pair among ``n`` genes, enumerated and scored
block by block (pure array code, no I/O).

Pairs are numbered in row-major upper-triangular order: pair ``(i, j)``, ``0 <= i < j < n``
(local gene indices), has index ``t = i * (2n - i - 1) / 2 + (j - i - 1)``, so the universe is
one flat array of ``N = n (n - 1) / 2`` entries and a row's partners ``j > i`` are contiguous.

* :func:`tri_index` / :func:`tri_pairs` - pair index <-> ``(i, j)``;
* :func:`pair_labels` - (N,) bool, True at listed pairs;
* :func:`score_universe` - (N,) float32 scores from any block scorer ``f(ri, rj) -> (b, c)``,
  computed block by block (memory: the output plus one ``block x n`` slab);
* :func:`sample_pairs` - every positive plus a uniform sample of the other pairs, with the
  inverse-probability weights that make weighted metrics estimate the universe's;
* :func:`sample_unlabelled` - uniform draws of pairs outside a set of listed pairs (the
  negatives of training).

A universe of 5,000 genes has 12.5 M pairs: 50 MB per float32 score array.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ..log import progress

BlockScore = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def n_pairs(n: int) -> int:
    """Number of unordered pairs among ``n`` genes."""
    return int(n) * (int(n) - 1) // 2


def row_start(i, n: int):
    """Index of pair ``(i, i + 1)``: the first pair of row ``i`` (int or int64 array)."""
    i = np.asarray(i, dtype=np.int64)
    return i * (2 * int(n) - i - 1) // 2


def tri_index(i, j, n: int) -> np.ndarray:
    """Pair index (int64) of unordered pairs ``(i, j)`` (any order, ``i != j``) among ``n`` genes."""
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    return row_start(lo, n) + (hi - lo - 1)


def tri_pairs(t, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(i, j)`` (int32, ``i < j``) of pair indices ``t`` (inverse of :func:`tri_index`)."""
    t = np.asarray(t, dtype=np.int64)
    n = int(n)
    # i = largest row with row_start(i) <= t (closed form, then fixed for float rounding)
    b = 2 * n - 1
    i = np.floor((b - np.sqrt(np.maximum(b * b - 8.0 * t, 0.0))) / 2.0).astype(np.int64)
    i = np.clip(i, 0, max(n - 2, 0))
    i -= (row_start(i, n) > t)
    i += (row_start(i + 1, n) <= t) & (i + 1 <= n - 2)
    j = t - row_start(i, n) + i + 1
    return i.astype(np.int32), j.astype(np.int32)


def pair_labels(n: int, pa, pb) -> np.ndarray:
    """(N,) bool: True at the pairs ``(pa[k], pb[k])`` (local indices; self-pairs ignored)."""
    out = np.zeros(n_pairs(n), dtype=bool)
    pa, pb = np.asarray(pa, dtype=np.int64), np.asarray(pb, dtype=np.int64)
    ok = pa != pb
    out[tri_index(pa[ok], pb[ok], n)] = True
    return out


def local_pairs(genes: np.ndarray, ia: np.ndarray, ib: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(ia, ib)`` (global gene indices) with both genes in ``genes`` (sorted global
    indices), as local indices into ``genes``."""
    genes = np.asarray(genes, dtype=np.int64)
    ia, ib = np.asarray(ia, dtype=np.int64), np.asarray(ib, dtype=np.int64)
    if len(genes) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pa = np.clip(np.searchsorted(genes, ia), 0, len(genes) - 1)
    pb = np.clip(np.searchsorted(genes, ib), 0, len(genes) - 1)
    ok = (genes[pa] == ia) & (genes[pb] == ib)
    return pa[ok], pb[ok]


def score_universe(block_score: BlockScore, n: int, block: int = 1024, desc: str | None = None,
                   out: np.ndarray | None = None) -> np.ndarray:
    """Scores (N,) float32 of every pair ``(i < j)`` among ``n`` genes, in pair-index order.

    ``block_score(ri, rj)`` (LongTensors of local gene indices) returns the (len(ri), len(rj))
    scores; it is called once per pair of gene blocks with ``j-block >= i-block`` (symmetric
    scorers only). Memory: ``out`` plus one (block, block) score block.
    """
    N = n_pairs(n)
    out = np.empty(N, dtype=np.float32) if out is None else out
    starts = list(range(0, n, block))
    jobs = [(a, b) for a in starts for b in starts if b >= a]
    it = progress(jobs, desc=desc or "universe blocks", total=len(jobs), unit="block") if desc else jobs
    with torch.inference_mode():
        for a, b in it:
            ri = torch.arange(a, min(a + block, n))
            rj = torch.arange(b, min(b + block, n))
            s = block_score(ri, rj)
            s = (s.detach().float().cpu().numpy() if isinstance(s, torch.Tensor) else np.asarray(s, np.float32))
            for r in range(len(ri)):
                i = a + r
                j0 = max(b, i + 1)              # partners j > i inside this column block
                j1 = b + len(rj)
                if j1 <= j0:
                    continue
                t0 = int(row_start(i, n)) + (j0 - i - 1)
                out[t0:t0 + (j1 - j0)] = s[r, j0 - b:j1 - b]
    return out


def pair_values(values: np.ndarray, n: int, fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
                chunk: int = 1 << 22, dtype=np.float32) -> np.ndarray:
    """(N,) ``fn(values[i], values[j])`` over every pair, ``chunk`` pairs at a time (e.g. the mean
    GC or degree of a pair's two genes, for strata). ``values`` (n,)."""
    N = n_pairs(n)
    out = np.empty(N, dtype=dtype)
    for s in range(0, N, chunk):
        i, j = tri_pairs(np.arange(s, min(s + chunk, N)), n)
        out[s:s + len(i)] = fn(values[i], values[j])
    return out


def sample_pairs(labels: np.ndarray, max_unlabelled: int, rng: np.random.Generator,
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """A weighted sample of a universe for the bootstrap: every positive pair plus
    ``max_unlabelled`` unlabelled pairs drawn uniformly without replacement.

    Returns ``(idx (M,) int64 sorted pair indices, weights (M,) float64 | None)``: a sampled
    unlabelled pair weighs ``n_unlabelled / max_unlabelled`` (positives 1), so weighted metrics
    on the sample estimate the universe's. Without subsampling (universe small enough)
    returns every index and ``None``.
    """
    N = len(labels)
    pos = np.flatnonzero(labels)
    n_unl = N - len(pos)
    if n_unl <= max_unlabelled:
        return np.arange(N, dtype=np.int64), None
    out = np.empty(0, np.int64)
    need = int(max_unlabelled)
    while len(out) < need:
        cand = rng.integers(0, N, size=int(1.2 * (need - len(out))) + 16)
        cand = cand[~labels[cand]]
        cand = np.unique(cand)
        if len(out):
            cand = cand[~np.isin(cand, out)]
        rng.shuffle(cand)
        out = np.concatenate([out, cand[: need - len(out)]])
    idx = np.sort(np.concatenate([pos, out]))
    w = np.where(labels[idx], 1.0, n_unl / need)
    return idx, w


def sample_unlabelled(n: int, listed_sorted: np.ndarray, size: int, rng: np.random.Generator,
                      ) -> tuple[np.ndarray, np.ndarray]:
    """``size`` pairs drawn uniformly (with replacement) from the universe of ``n`` genes
    minus the pairs ``listed_sorted`` (sorted int64 pair indices, never drawn).

    Returns local ``(i, j)`` int64 arrays. Rejection sampling: cheap while listed pairs are a
    small share of the universe (they are ~0.1-1 % in co-expression lists).
    """
    N = n_pairs(n)
    if N - len(listed_sorted) <= 0 or size <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    got = []
    have = 0
    while have < size:
        t = rng.integers(0, N, size=int((size - have) * 1.05) + 8)
        if len(listed_sorted):
            pos = np.clip(np.searchsorted(listed_sorted, t), 0, len(listed_sorted) - 1)
            t = t[listed_sorted[pos] != t]
        got.append(t[: size - have])
        have += len(got[-1])
    i, j = tri_pairs(np.concatenate(got), n)
    return i.astype(np.int64), j.astype(np.int64)
