"""Training batches and their loss: gene batches (every pair among B genes) or sampled pairs.

The Siamese model embeds each gene independently, so a training step can embed a batch of B
genes once and score all ``B (B - 1) / 2`` pairs among them: the evaluation's own distribution
(every pair among held-out genes, :mod:`tfvocab.data.universe`) at ~B/2 pairs per gene embedding
instead of ~1 when pairs are sampled one by one.

* :class:`GeneBatches` - an epoch walks a seeded permutation of the training positives; a batch
  takes the genes of the next positives (each gene with its partner) until they fill
  ``partner_fraction`` of its ``batch_genes`` slots, then random other training genes fill the
  rest, so each batch holds listed pairs and the background they are ranked against.
  Every pair among the batch's genes is labelled: 1 = positive (listed, above threshold),
  0 = unlabelled, ``IGNORE`` = listed below the threshold (never a negative; no loss).
* :class:`PairBatches` - the previous scheme (``--batching pairs``): the positives plus
  ``neg_ratio`` sampled negatives per positive (:class:`tfvocab.data.negatives.NegativeSampler`),
  shuffled, ``batch_size`` pairs per step.
* :func:`pair_weights` / :func:`batch_loss` - class-balanced BCE (positives and negatives of a
  batch weigh half each) or the nnPU risk, as the weighted sum of per-pair losses.

Both batchers yield the same :class:`Step`: the distinct genes to embed (local indices into the
training genes), the pairs as rows of that gene list, and labels - so the training loop is one.
Arrays in, arrays out; no I/O.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..data import universe as U

IGNORE = -1.0        # label of a listed pair below the threshold: excluded from the loss
BATCHING = ("genes", "pairs")


@dataclass
class Step:
    """One training step: ``genes`` (U,) int64 local indices of the genes to embed; ``ia, ib``
    (P,) int64 rows of ``genes`` (the pairs scored); ``y`` (P,) float32 labels (1, 0 or
    :data:`IGNORE`)."""

    genes: np.ndarray
    ia: np.ndarray
    ib: np.ndarray
    y: np.ndarray


def _rng(seed: int, epoch: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(epoch), 7])


def _share(items: list, world: int, rank: int) -> list:
    """This rank's equal share of ``items`` (the list padded by its own head, as DistributedSampler)."""
    if world <= 1:
        return items
    per = math.ceil(len(items) / world)
    items = items + items[: per * world - len(items)]
    return items[rank::world]


class GeneBatches:
    """Gene batches of the training genes (module docstring).

    ``n`` training genes; ``pa, pb`` (E,) local indices of the positives; ``listed`` sorted
    local universe indices (:func:`tfvocab.data.universe.tri_index` over ``n``) of every listed pair
    (positives included); ``batch_genes`` B; ``partner_fraction`` of B filled by the positives'
    genes.
    """

    def __init__(self, n: int, pa, pb, listed, batch_genes: int = 256, partner_fraction: float = 0.5,
                 seed: int = 0):
        self.n = int(n)
        self.pa, self.pb = np.asarray(pa, np.int64), np.asarray(pb, np.int64)
        self.pos_keys = np.unique(U.tri_index(np.minimum(self.pa, self.pb), np.maximum(self.pa, self.pb), self.n))
        self.listed = np.asarray(listed, np.int64)
        self.B = max(2, min(int(batch_genes), self.n))
        self.partner_slots = max(2, int(round(self.B * float(partner_fraction))))
        self.seed = int(seed)

    def labels(self, genes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every pair among ``genes`` (U,) sorted local indices: rows ``ia < ib`` (U(U-1)/2,)
        and labels (1 / 0 / :data:`IGNORE`)."""
        ia, ib = np.triu_indices(len(genes), 1)
        key = U.tri_index(genes[ia], genes[ib], self.n)
        y = np.zeros(len(key), np.float32)
        if len(self.listed):
            hit = np.searchsorted(self.listed, key)
            y[self.listed[np.minimum(hit, len(self.listed) - 1)] == key] = IGNORE
        hit = np.searchsorted(self.pos_keys, key)
        y[self.pos_keys[np.minimum(hit, len(self.pos_keys) - 1)] == key] = 1.0
        return ia.astype(np.int64), ib.astype(np.int64), y

    def batches(self, epoch: int) -> list[np.ndarray]:
        """The epoch's batches: sorted local gene indices (B,) each; every positive seeds one
        batch per epoch (seeded by ``(seed, epoch)``)."""
        rng = _rng(self.seed, epoch)
        order = rng.permutation(len(self.pa))
        out, cur = [], []
        seen: set = set()
        for k in order:
            for g in (int(self.pa[k]), int(self.pb[k])):
                if g not in seen:
                    seen.add(g)
                    cur.append(g)
            if len(cur) >= self.partner_slots:
                out.append(self._fill(cur, rng))
                cur, seen = [], set()
        if cur:
            out.append(self._fill(cur, rng))
        return out

    def _fill(self, genes: list, rng: np.random.Generator) -> np.ndarray:
        chosen = np.fromiter(genes, np.int64)[: self.B]
        need = self.B - len(chosen)
        if need > 0:
            free = np.setdiff1d(np.arange(self.n), chosen, assume_unique=False)
            chosen = np.concatenate([chosen, rng.choice(free, size=min(need, len(free)), replace=False)])
        return np.sort(chosen)

    def steps(self, epoch: int, world: int = 1, rank: int = 0) -> list[Step]:
        """This rank's steps of ``epoch``."""
        out = []
        for genes in _share(self.batches(epoch), world, rank):
            ia, ib, y = self.labels(genes)
            out.append(Step(genes, ia, ib, y))
        return out


class PairBatches:
    """Sampled pairs (``--batching pairs``): each epoch the positives ``pa, pb`` plus the
    ``sampler``'s negatives (:class:`tfvocab.data.negatives.NegativeSampler`, local indices), in a
    seeded order, ``batch_size`` pairs per step; a step embeds each distinct gene once."""

    def __init__(self, pa, pb, sampler, batch_size: int = 4096, seed: int = 0):
        self.pa, self.pb = np.asarray(pa, np.int64), np.asarray(pb, np.int64)
        self.sampler = sampler
        self.bs = max(1, int(batch_size))
        self.seed = int(seed)

    def steps(self, epoch: int, world: int = 1, rank: int = 0) -> list[Step]:
        na, nb = self.sampler.epoch(epoch)
        a = np.concatenate([self.pa, na])
        b = np.concatenate([self.pb, nb])
        y = np.concatenate([np.ones(len(self.pa), np.float32), np.zeros(len(na), np.float32)])
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + int(epoch))
        order = torch.randperm(len(y), generator=g).numpy()
        chunks = [order[s:s + self.bs] for s in range(0, len(order), self.bs)]
        out = []
        for sel in _share(chunks, world, rank):
            genes, inv = np.unique(np.concatenate([a[sel], b[sel]]), return_inverse=True)
            out.append(Step(genes, inv[: len(sel)], inv[len(sel):], y[sel]))
        return out


# --------------------------------------------------------------------------- loss
def pair_weights(y: torch.Tensor) -> torch.Tensor:
    """Class-balanced weights (P,) of a batch's labels: positives share 1/2, negatives 1/2
    (all of it to one class when the other is absent), :data:`IGNORE` 0."""
    pos = (y > 0.5).float()
    neg = (y == 0).float()
    n_p, n_n = pos.sum(), neg.sum()
    wp = torch.where(n_n > 0, 0.5, 1.0) / n_p.clamp_min(1.0)
    wn = torch.where(n_p > 0, 0.5, 1.0) / n_n.clamp_min(1.0)
    return pos * wp + neg * wn


def per_pair_bce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Logistic loss of each pair (P,): ``-log sigmoid(x)`` for positives, ``-log(1 - sigmoid(x))``
    otherwise (ignored pairs get a value but weight 0)."""
    return torch.where(y > 0.5, F.softplus(-logits), F.softplus(logits))


def nnpu_loss(logits: torch.Tensor, labels: torch.Tensor, prior: float, beta: float = 0.0
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Non-negative PU risk with the logistic loss (Kiryo et al. 2017); ``logits, labels`` (P,),
    label 1 = labelled positive, 0 = unlabelled. Returns ``(objective, risk)``: ``objective`` is
    what to back-propagate (``-negative_risk`` when the negative risk drops below ``-beta``)."""
    pos = labels > 0.5
    unl = ~pos
    n_p = pos.sum().clamp_min(1)
    n_u = unl.sum().clamp_min(1)
    r_p_plus = (F.softplus(-logits) * pos).sum() / n_p
    r_p_minus = (F.softplus(logits) * pos).sum() / n_p
    r_u_minus = (F.softplus(logits) * unl).sum() / n_u
    neg = r_u_minus - prior * r_p_minus
    risk = prior * r_p_plus + neg
    if neg.item() < -beta:
        return -neg, risk
    return risk, risk


def batch_loss(logits: torch.Tensor, y: torch.Tensor, loss: str = "bce", prior: float | None = None,
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(objective, risk)`` of a batch: ``logits, y`` (P,). ``bce``: class-balanced BCE, i.e.
    ``sum_i pair_weights(y)_i * per_pair_bce_i`` (objective = risk); ``nnpu``: :func:`nnpu_loss`
    of the labelled positives against the unlabelled pairs (:data:`IGNORE` pairs left out)."""
    if loss == "bce":
        r = (pair_weights(y) * per_pair_bce(logits, y)).sum()
        return r, r
    keep = y != IGNORE
    return nnpu_loss(logits[keep], y[keep], float(prior))
