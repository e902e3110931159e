"""Blockwise scoring of gene pairs through a model's pair head (pure tensor code, no I/O).

Shared by ``tfvocab predict`` (all-vs-all top-k network) and :mod:`tfvocab.data.universe` (every pair
among held-out genes, ``tfvocab evaluate``):

* :func:`score_block` - scores (b, c) of every pair of two embedding blocks through any
  ``score(vA, vB)`` function, a bounded number of pairs at a time;
* :class:`FusedHeadScorer` - the same numbers for the model's MLP head without a per-pair
  feature matrix (one GEMM per few block rows), probabilities or logits;
* :func:`merge_topk` / :func:`topk_all_vs_all` - running top-k partners per gene over blocks;
* :func:`model_scorer` - ``score(vA, vB) -> probabilities`` of a SiameseTransformer.
"""
from __future__ import annotations

from typing import Callable

import torch

from ..log import get_logger, progress

log = get_logger("scoring")

ScoreFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def fix_mmap_threshold(nbytes: int = 4 << 20) -> bool:
    """Serve allocations >= ``nbytes`` by mmap (glibc ``mallopt(M_MMAP_THRESHOLD)``).

    glibc raises its mmap threshold every time a large block is freed, after which the
    per-chunk input tensors of the embedding loop (e.g. 256 genes x 50 windows x 300 TFs = 15 MB)
    come from the heap and fragment it: RSS then grows by a few MB per chunk, i.e. with the gene
    count. A fixed threshold returns each freed chunk to the OS. No-op (False) off glibc.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(-3, int(nbytes)))  # -3 = M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        return False


def merge_topk(best_s: torch.Tensor, best_i: torch.Tensor, new_s: torch.Tensor, new_i: torch.Tensor,
               k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Merge candidate partners into running top-k lists.

    ``best_s, best_i`` (R, k) current best scores / partner indices (``-inf`` / -1 when empty);
    ``new_s`` (R, C) candidate scores; ``new_i`` (R, C) or (C,) their partner indices.
    Returns the updated (R, k) scores (descending) and indices.
    """
    if new_i.dim() == 1:
        new_i = new_i.unsqueeze(0).expand(new_s.shape[0], -1)
    s = torch.cat([best_s, new_s], dim=1)
    i = torch.cat([best_i, new_i], dim=1)
    top, pos = torch.topk(s, k, dim=1, largest=True, sorted=True)
    return top, torch.gather(i, 1, pos)


def score_block(score: ScoreFn, ea: torch.Tensor, eb: torch.Tensor, pair_chunk: int = 65536) -> torch.Tensor:
    """Scores (b, c) of every pair (ea[r], eb[s]) through ``score``, ``pair_chunk`` pairs at a time.

    ``ea`` (b, D), ``eb`` (c, D); ``score(vA (P, D), vB (P, D)) -> (P,)``.
    """
    b, c = ea.shape[0], eb.shape[0]
    out = torch.empty(b, c, dtype=torch.float32, device=ea.device)
    rows = max(1, pair_chunk // max(c, 1))
    for r in range(0, b, rows):
        ra = ea[r:r + rows]
        n = ra.shape[0]
        va = ra.unsqueeze(1).expand(n, c, -1).reshape(n * c, -1)
        vb = eb.unsqueeze(0).expand(n, c, -1).reshape(n * c, -1)
        out[r:r + n] = score(va, vb).float().reshape(n, c)
    return out


class FusedHeadScorer:
    """Block scorer for the model's MLP pair head: the same numbers as ``sigmoid(model.score)``
    (up to float32 rounding, checked in the tests) with no (pairs, 3D) feature matrix.

    The head's first layer ``W [vA + vB, |vA - vB|, vA * vB] + b`` is split by term:

    * ``W_s (vA + vB)`` is linear: ``W_s v`` (+ ``b``) is computed once per gene (``PT``, (H, G));
    * ``W_p (vA * vB)`` is bilinear: for ``n`` rows ``a`` of the block, ``(W_p[:, None, :] * a)``
      ((H, n, D), tiny) times ``eb.T`` ((D, c)) gives every (h, r, s) in one GEMM, with no
      per-pair buffer;
    * only ``W_d |vA - vB|`` needs per-pair features: ``|a - b|`` is written in a reused
      (D, n, c) buffer (contiguous along the partner axis) and goes through one (H, D) GEMM.

    Activations are (H, pairs) so every later layer is one ``addmm`` with the weight on the left
    and the scores come out as rows of the block. Works for ``pair_features`` ``full`` and
    ``similarity`` (no ``W_s`` term), any number of head layers and any activation. The terms
    that are matrix products (``SiameseTransformer.gemm_factors``: a cosine head ``a cos(vA, vB)
    + b``, a bilinear head ``(p(vA) * d) @ p(vB) + b``, the grammar bag's ``(bagA * u) @ bagB``)
    are one GEMM of per-gene factors per block, added to the MLP head's logit where there is one.
    Another head structure raises ``ValueError`` (callers then use :func:`score_block`).
    ``emb`` (G, D) float32; ``rows`` = block rows per GEMM (8 is fastest on CPU for D = 64..400).
    ``__call__(ri, rj)`` -> probabilities (len(ri), len(rj)) for gene rows ``ri`` x ``rj``, or
    logits with ``logits=True`` (ranking on logits keeps the order of pairs whose float32
    probabilities saturate at 1.0).
    """

    def __init__(self, model, emb: torch.Tensor, rows: int = 8, logits: bool = False):
        emb = emb.float()
        self.logits = bool(logits)
        self.rows = max(1, int(rows))
        # the matrix-product terms (model.gemm_factors): the grammar bag, a cosine or bilinear head
        was = model.training
        model.eval()
        with torch.no_grad():
            left, right, c = model.gemm_factors(emb.to(next(model.parameters()).dtype))
        model.train(was)
        self.left = left.float().contiguous() if left.shape[1] else None
        self.right = right.float().contiguous() if left.shape[1] else None
        self.bias = float(c.detach()) if torch.is_tensor(c) else float(c)
        self.mlp = getattr(model, "head", None) is not None
        if not self.mlp:
            if getattr(model, "proj", None) is None and getattr(model.config, "pair_features", None) != "cosine":
                raise ValueError("no MLP pair head and not a cosine or bilinear head")
            return
        emb = emb[:, :model.tower_dim]
        kind = getattr(model.config, "pair_features", "full")   # full | similarity (model.py)
        n_feat = {"full": 3, "similarity": 2}.get(kind)
        layers = list(model.head)
        linears = [m for m in layers if isinstance(m, torch.nn.Linear)]
        acts = [m for m in layers if not isinstance(m, (torch.nn.Linear, torch.nn.Dropout))]
        D = emb.shape[1]
        if (n_feat is None or len(linears) < 2 or linears[0].in_features != n_feat * D
                or linears[-1].out_features != 1 or len(acts) != len(linears) - 1):
            raise ValueError("unexpected pair head structure")
        self.emb, self.D = emb, D
        w = linears[0].weight.detach().float()
        H = w.shape[0]
        off = D if n_feat == 3 else 0
        self.w_abs = w[:, off:off + D].contiguous()              # (H, D) on |vA - vB|
        self.w_prod = w[:, off + D:off + 2 * D].contiguous()     # (H, D) on vA * vB
        b1 = linears[0].bias.detach().float()
        with torch.no_grad():
            lin = emb @ w[:, :D].T if n_feat == 3 else torch.zeros(emb.shape[0], H, device=emb.device)
            self.PT_a = (lin + b1).T.contiguous()                # (H, G): W_s v + b (row side)
            self.PT_b = lin.T.contiguous()                       # (H, G): W_s v (partner side)
        self.hidden = [(lin.weight.detach().float().contiguous(), lin.bias.detach().float()[:, None])
                       for lin in linears[1:]]
        self.acts = acts
        self._buf = None

    @torch.no_grad()   # not inference_mode: callers update the returned block in place
    def __call__(self, ri: torch.Tensor, rj: torch.Tensor) -> torch.Tensor:
        gemm = torch.mm(self.left[ri], self.right[rj].T) if self.left is not None else None
        if not self.mlp:
            out = gemm.add_(self.bias)
            return out if self.logits else out.sigmoid_()
        ea, eb = self.emb[ri], self.emb[rj]
        bag = gemm                                               # the grammar bag's term or None
        ebT = eb.T.contiguous()                                  # (D, c)
        pa, pb = self.PT_a[:, ri], self.PT_b[:, rj]              # (H, b), (H, c)
        b, c, D, H = ea.shape[0], eb.shape[0], self.D, self.w_abs.shape[0]
        out = torch.empty(b, c, dtype=torch.float32, device=ea.device)
        need = D * self.rows * c
        if self._buf is None or self._buf.numel() < need or self._buf.device != ea.device:
            self._buf = torch.empty(need, dtype=torch.float32, device=ea.device)
        for r in range(0, b, self.rows):
            a = ea[r:r + self.rows]                              # (n, D)
            n = a.shape[0]
            buf = self._buf[: D * n * c].view(D, n, c)
            torch.sub(a.T[:, :, None], ebT[:, None, :], out=buf).abs_()
            q = (self.w_prod[:, None, :] * a[None]).view(H * n, D)
            h = torch.mm(q, ebT).view(H, n * c)                  # W_p (a * b), (H, n*c)
            h.addmm_(self.w_abs, buf.view(D, n * c))             # + W_d |a - b|
            h.view(H, n, c).add_(pa[:, r:r + n, None]).add_(pb[:, None, :])
            h = self.acts[0](h)
            for li, (w, bias) in enumerate(self.hidden):
                h = torch.addmm(bias, w, h)
                if li + 1 < len(self.hidden):
                    h = self.acts[li + 1](h)
            h = h.view(n, c)
            if bag is not None:
                h = h + bag[r:r + n]
            out[r:r + n] = h if self.logits else torch.sigmoid(h)
        return out


def is_symmetric(score: ScoreFn, emb: torch.Tensor, n: int = 64, seed: int = 0, atol: float = 1e-5) -> bool:
    """Whether ``score(a, b) == score(b, a)`` on ``n`` random pairs of ``emb`` rows."""
    g = torch.Generator().manual_seed(seed)
    ia = torch.randint(0, emb.shape[0], (n,), generator=g).to(emb.device)
    ib = torch.randint(0, emb.shape[0], (n,), generator=g).to(emb.device)
    return bool(torch.allclose(score(emb[ia], emb[ib]), score(emb[ib], emb[ia]), atol=atol))


def topk_all_vs_all(emb: torch.Tensor, score: ScoreFn, k: int = 50, block_size: int = 1024,
                    pair_chunk: int = 65536, symmetric: bool | None = None,
                    block_score: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-``k`` partners of every gene among all others, without the (G, G) matrix.

    ``emb`` (G, D) gene embeddings; ``score(vA (P, D), vB (P, D)) -> (P,)`` higher = more likely.
    ``symmetric``: score each unordered block pair once (None = check on a sample).
    ``block_score(ri, rj) -> (len(ri), len(rj))``: optional faster scorer of gene rows ``ri`` x
    ``rj`` giving the same numbers as ``score`` (e.g. :class:`FusedHeadScorer`).
    Returns ``scores`` (G, k') float32 descending and ``partners`` (G, k') int64, ``k' = min(k, G-1)``;
    a gene is never its own partner. Memory: O(G * k + block_size**2 + pair_chunk * D).
    """
    G = emb.shape[0]
    k = min(int(k), G - 1)
    if k <= 0:
        return (torch.zeros(G, 0), torch.zeros(G, 0, dtype=torch.long))
    if symmetric is None:
        symmetric = is_symmetric(score, emb)
        if not symmetric:
            log.warning("the pair head is not symmetric: scoring every ordered block pair")
    dev = emb.device
    best_s = torch.full((G, k), float("-inf"), device=dev)
    best_i = torch.full((G, k), -1, dtype=torch.long, device=dev)
    starts = list(range(0, G, block_size))
    jobs = [(i, j) for i in starts for j in starts if (j >= i or not symmetric)]
    for i, j in progress(jobs, desc="all-vs-all blocks", total=len(jobs), unit="block"):
        ri = torch.arange(i, min(i + block_size, G), device=dev)
        rj = torch.arange(j, min(j + block_size, G), device=dev)
        s = block_score(ri, rj) if block_score is not None else score_block(score, emb[ri], emb[rj], pair_chunk)
        if i == j:
            s.fill_diagonal_(float("-inf"))
        best_s[ri], best_i[ri] = merge_topk(best_s[ri], best_i[ri], s, rj, k)
        if symmetric and i != j:
            best_s[rj], best_i[rj] = merge_topk(best_s[rj], best_i[rj], s.T, ri, k)
    return best_s, best_i


def model_scorer(model) -> ScoreFn:
    """``score(vA, vB) -> probabilities`` from a :class:`tfvocab.model.model.SiameseTransformer`."""

    @torch.no_grad()
    def score(va, vb):
        return torch.sigmoid(model.score(va, vb).float())

    return score
