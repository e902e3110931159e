"""The Siamese transformer: one shared tower encodes a promoter, a symmetric head scores a pair.

Tower input (per gene, W windows of 50 bp, 5'->3'):

* ``tokens`` (B, W) int64 — TF-vocabulary ids through an embedding table (K, d_model);
* ``values`` (B, W, T) float32 — normalised TF signal through a linear projection T -> d_model;
* ``both`` — the sum of the two;

with ``grammar_bag`` H > 0 (continuous / both input; values must be ``tfvocab normalize``'s
enrichment z-scores) the tower also reads the promoter's **ordered TF pairs**
(:mod:`tfvocab.model.grammar`: binding events 5'->3', pairs of TFs <= 60 bp apart) as a signed bag:
one coordinate per unordered TF pair {A, B} (hashed into H buckets when there are more pairs
than H), holding ``sum of weight x (+1 if A comes first, -1 if B does)``, compressed by
``sign * log1p(|.|)``. It is appended to the embedding (D += H) and enters the score as
``sum_h u_h bagA_h bagB_h``, added to the head's logit: two promoters with the same ordered pair
score up, the same pair in opposite orders score down, a pair against no pair adds nothing.
(A learned low-rank pair embedding read by the transformer was tried first and did not learn
order on the grammar preset: bench/README.md);

plus learned or sinusoidal window positions. ``mask`` (B, W) bool is True for missing windows:
they are excluded as attention keys and from mean pooling, so a masked window's content cannot
change the output. Pooling is a prepended CLS vector (``cls``), the masked mean (``mean``), or
``flatten``: each window's output projected to ``pool_dim`` features and concatenated (D = W x
pool_dim, missing windows 0), which keeps *where* each TF binds, so the head's ``vA * vB`` term
can compare two promoters window by window (generalises to unseen TF combinations).

The pair head sees ``[vA + vB, |vA - vB|, vA * vB]`` (``full``) or ``[|vA - vB|, vA * vB]``
(``similarity``), each (B, D), all symmetric in A and B, so ``score(vA, vB) == score(vB, vA)``
bit for bit; ``cosine`` is ``a cos(vA, vB) + b``; ``bilinear`` ``sum_k d_k p_k(vA) p_k(vB) + b``
of a per-gene MLP ``p``. Hyperparameters follow blueprint Table 2; the tower defaults (one
layer, d_model 32, flatten pooling, dropout 0.2) were tuned on the `small` preset. The default,
**grammar bag (1024) learnt from 0 + cosine head** (trained on gene batches,
:mod:`tfvocab.model.batches`), was chosen on the universe AUPRC (every pair among held-out genes;
docs/evaluation.md, "Training batches"): on the `small` preset it matches the similarity (MLP)
head (validation universe AUPRC 0.407 vs 0.371, fold 0) at a quarter of its cost per step,
reads order and spacing better on the `grammar` preset (members vs reversed / spaced decoys
0.854 / 0.816 vs 0.805 / 0.791, seed 0), and with ``grammar_init 0`` the bag carries no
label-free prior. With gene batches the cosine head and the bag term score a whole batch as
(B, B) matrix products (:meth:`SiameseTransformer.pair_logits`).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

from . import grammar

ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU}
PAIR_FEATURES = ("full", "similarity", "cosine", "bilinear")


@dataclass
class ModelConfig:
    """All model hyperparameters (stored in ``model.pt`` as ``config``)."""

    input: str = "continuous"       # tokens | continuous | both
    n_tokens: int = 0               # K (vocabulary size incl. special tokens)
    n_tfs: int = 0                  # T
    n_windows: int = 50             # W
    d_model: int = 32
    n_layers: int = 1
    n_heads: int = 2
    d_ff: int = 0                   # 0 -> 4 * d_model
    dropout: float = 0.2            # residual / FFN dropout
    attn_dropout: float = 0.1
    positions: str = "learned"      # learned | sinusoidal
    pooling: str = "flatten"        # cls | mean | flatten
    pool_dim: int = 8               # flatten pooling: features kept per window (D = W * pool_dim)
    head_layers: int = 2            # dense layers in the pair head before the output neuron
    head_width: int = 64
    head_dropout: float = 0.1
    activation: str = "gelu"        # gelu | relu
    pair_features: str = "cosine"   # full: [vA+vB, |vA-vB|, vA*vB]; similarity: [|vA-vB|, vA*vB];
                                    # cosine: logit = a * cos(vA, vB) + b (no MLP);
                                    # bilinear: logit = sum_k d_k p_k(vA) p_k(vB) + b, p = per-gene MLP
    grammar_bag: int = 1024         # H > 0: signed bag of ordered TF pairs (tfvocab.model.grammar), D += H
                                    # (continuous / both input; ignored with tokens input)
    grammar_init: float = 0.0       # initial weight u of every bag coordinate in the score (0: no
                                    # label-free prior; the bag's weights are learnt from the labels)
    grammar_gain: float = 20.0      # u = gain * parameter: an optimizer step moves u gain x faster
    event_threshold: float = 0.0    # z calling binding events; 0 = Phi^-1(1 - 0.05 / n_tfs)
    window_stride: int = 50         # bp between window starts (event positions)
    rel_bias: int = 0               # > 0: learned per-head attention bias by window distance
                                    # (clipped at rel_bias windows; ALiBi-like), on top of positions

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def to_dict(self) -> dict:
        return asdict(self)

    def validate(self) -> None:
        if self.input not in ("tokens", "continuous", "both"):
            raise ValueError(f"input must be tokens/continuous/both, not {self.input!r}")
        if self.d_model % self.n_heads:
            raise ValueError(f"n_heads ({self.n_heads}) must divide d_model ({self.d_model})")
        if self.input in ("tokens", "both") and self.n_tokens <= 0:
            raise ValueError("token input needs n_tokens > 0")
        if self.input in ("continuous", "both") and self.n_tfs <= 0:
            raise ValueError("continuous input needs n_tfs > 0")
        if self.positions not in ("learned", "sinusoidal"):
            raise ValueError(f"positions must be learned/sinusoidal, not {self.positions!r}")
        if self.pooling not in ("cls", "mean", "flatten"):
            raise ValueError(f"pooling must be cls/mean/flatten, not {self.pooling!r}")
        if self.pair_features not in PAIR_FEATURES:
            raise ValueError(f"pair_features must be one of {'/'.join(PAIR_FEATURES)}, not {self.pair_features!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {list(ACTIVATIONS)}")


def sinusoidal_positions(n: int, d: int) -> torch.Tensor:
    """Standard sinusoidal encodings, (n, d) float32."""
    pos = torch.arange(n, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    pe = torch.zeros(n, d)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)[:, : d // 2]
    return pe


class EncoderLayer(nn.Module):
    """Pre-norm transformer block (MHSA + FFN, residuals) that can return its attention weights."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float, attn_dropout: float,
                 activation: str):
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.attn = nn.MultiheadAttention(d_model, n_heads, dropout=attn_dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, d_ff), ACTIVATIONS[activation](), nn.Dropout(dropout),
                                nn.Linear(d_ff, d_model))
        self.drop = nn.Dropout(dropout)

    def forward(self, x, key_padding_mask, need_weights: bool = False, attn_bias=None):
        """``x`` (B, L, D); ``key_padding_mask`` (B, L) True = ignore; ``attn_bias`` (B*H, L, L)
        float added to the attention logits, or None. Returns x, attn (B, H, L, L) | None."""
        h = self.norm1(x)
        kpm = key_padding_mask
        if attn_bias is not None:      # one float mask (PyTorch wants both masks of one kind)
            H = self.attn.num_heads
            kpm_f = torch.zeros_like(kpm, dtype=attn_bias.dtype).masked_fill(kpm, float("-inf"))
            attn_bias = attn_bias + kpm_f.repeat_interleave(H, 0)[:, None, :]
            kpm = None
        a, w = self.attn(h, h, h, key_padding_mask=kpm, attn_mask=attn_bias,
                         need_weights=need_weights, average_attn_weights=False)
        x = x + self.drop(a)
        x = x + self.drop(self.ff(self.norm2(x)))
        return x, w


class SiameseTransformer(nn.Module):
    """Shared promoter tower + symmetric pair head.

    ``forward(tokens, values, mask, inv_a, inv_b)`` encodes the U distinct genes given once
    ((U, W) / (U, W, T) / (U, W)) and scores pairs ``(inv_a[i], inv_b[i])`` -> logits (B,).
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        config.validate()
        self.config = config
        c = config
        d = c.d_model
        self.tok_emb = nn.Embedding(c.n_tokens, d) if c.input in ("tokens", "both") else None
        self.val_proj = nn.Linear(c.n_tfs, d) if c.input in ("continuous", "both") else None
        self.bag_dim = 0
        if c.grammar_bag and self.val_proj is not None:
            self.bag_dim = grammar.bag_size(c.n_tfs, c.grammar_bag)
            self.grammar_w = nn.Parameter(torch.full((self.bag_dim,), float(c.grammar_init) / c.grammar_gain))
            self.event_z = c.event_threshold or grammar.default_threshold(c.n_tfs)
        n_pos = c.n_windows + (1 if c.pooling == "cls" else 0)
        if c.positions == "learned":
            self.pos = nn.Parameter(torch.zeros(n_pos, d))
            nn.init.normal_(self.pos, std=0.02)
        else:
            self.register_buffer("pos", sinusoidal_positions(n_pos, d), persistent=False)
        self.cls = nn.Parameter(torch.zeros(1, 1, d)) if c.pooling == "cls" else None
        if self.cls is not None:
            nn.init.normal_(self.cls, std=0.02)
        self.in_drop = nn.Dropout(c.dropout)
        self.rel = nn.Parameter(torch.zeros(c.n_heads, c.rel_bias + 1)) if c.rel_bias else None
        d_ff = c.d_ff or 4 * d
        self.layers = nn.ModuleList(EncoderLayer(d, c.n_heads, d_ff, c.dropout, c.attn_dropout, c.activation)
                                    for _ in range(c.n_layers))
        self.norm = nn.LayerNorm(d)
        self.pool_proj = nn.Linear(d, c.pool_dim) if c.pooling == "flatten" else None
        self.tower_dim = c.n_windows * c.pool_dim if c.pooling == "flatten" else d
        self.out_dim = self.tower_dim + self.bag_dim
        self.head = self.proj = None
        if c.pair_features == "cosine":
            self.cos_scale = nn.Parameter(torch.tensor(10.0))
            self.cos_bias = nn.Parameter(torch.tensor(-3.0))
        elif c.pair_features == "bilinear":
            # per-gene projection p(v) (head_layers dense layers, the last one linear), then
            # logit = sum_k d_k p_k(vA) p_k(vB) + b: a block of pairs is one matrix product
            proj, width_in = [], self.tower_dim
            for _ in range(c.head_layers - 1):
                proj += [nn.Linear(width_in, c.head_width), ACTIVATIONS[c.activation](), nn.Dropout(c.head_dropout)]
                width_in = c.head_width
            proj.append(nn.Linear(width_in, c.head_width))
            self.proj = nn.Sequential(*proj)
            self.bil_d = nn.Parameter(torch.full((c.head_width,), 0.1))
            self.bil_b = nn.Parameter(torch.tensor(-3.0))
        else:
            head, width_in = [], (3 if c.pair_features == "full" else 2) * self.tower_dim
            for _ in range(c.head_layers):
                head += [nn.Linear(width_in, c.head_width), ACTIVATIONS[c.activation](), nn.Dropout(c.head_dropout)]
                width_in = c.head_width
            head.append(nn.Linear(width_in, 1))
            self.head = nn.Sequential(*head)

    # ---------------------------------------------------------------- tower
    def embed_windows(self, tokens, values):
        """Window embeddings before positions, (B, W, D)."""
        x = None
        if self.tok_emb is not None:
            x = self.tok_emb(tokens)
        if self.val_proj is not None:
            v = self.val_proj(values)
            x = v if x is None else x + v
        return x

    def grammar_bag(self, values, mask):
        """Signed bag of ordered TF pairs (B, bag_dim) of a batch (module docstring;
        :func:`tfvocab.model.grammar.pair_bag`): the pairs are found without gradient, their weights
        are differentiable in ``values``."""
        return grammar.pair_bag(values, mask, self.event_z, self.config.window_stride, self.bag_dim)

    def encode(self, tokens=None, values=None, mask=None, return_attention: bool = False):
        """Promoter embeddings (B, D) (D = d_model, or W * pool_dim with ``flatten`` pooling).

        ``tokens`` (B, W) int64, ``values`` (B, W, T) float32 (no NaN), ``mask`` (B, W) bool, True =
        missing window. With ``return_attention`` also returns a list (one per layer) of attention
        weights (B, H, L, L), L = W (+1 for the CLS position at index 0).
        """
        x = self.embed_windows(tokens, values)
        B, W, _ = x.shape
        if mask is None:
            mask = torch.zeros(B, W, dtype=torch.bool, device=x.device)
        bag = self.grammar_bag(values, mask) if self.bag_dim else None
        # a promoter with every window missing would give NaN attention: let it attend to its
        # (zeroed) windows, i.e. positions only.
        mask = mask & ~mask.all(dim=1, keepdim=True)
        x = x.masked_fill(mask[..., None], 0.0)
        if self.cls is not None:
            x = torch.cat([self.cls.expand(B, 1, -1).to(x.dtype), x], dim=1)
            kpm = torch.cat([torch.zeros(B, 1, dtype=torch.bool, device=x.device), mask], dim=1)
        else:
            kpm = mask
        x = self.in_drop(x + self.pos[: x.shape[1]].to(x.dtype))
        bias = None
        if self.rel is not None:            # (H, L, L) by clipped window distance; CLS row/col 0
            L = x.shape[1]
            off = 1 if self.cls is not None else 0
            idx = torch.arange(L - off, device=x.device)
            dist = (idx[:, None] - idx[None, :]).abs().clamp_max(self.config.rel_bias)
            b = torch.zeros(self.config.n_heads, L, L, dtype=x.dtype, device=x.device)
            b[:, off:, off:] = self.rel[:, dist].to(x.dtype)
            bias = b.repeat(B, 1, 1)
        attn = []
        for layer in self.layers:
            x, w = layer(x, kpm, need_weights=return_attention, attn_bias=bias)
            if return_attention:
                attn.append(w)
        x = self.norm(x)
        if self.cls is not None:
            v = x[:, 0]
        elif self.pool_proj is not None:   # position-resolved: per-window features, masked -> 0
            v = (self.pool_proj(x) * (~kpm).to(x.dtype)[..., None]).flatten(1)
        else:
            keep = (~kpm).to(x.dtype)[..., None]
            v = (x * keep).sum(1) / keep.sum(1).clamp_min(1.0)
        if bag is not None:
            v = torch.cat([v, bag.to(v.dtype)], dim=-1)
        return (v, attn) if return_attention else v

    # ---------------------------------------------------------------- pair head
    def pair_features(self, va, vb):
        """Symmetric pair features (B, 3D): ``[vA + vB, |vA - vB|, vA * vB]``; with
        ``pair_features="similarity"`` (B, 2D) ``[|vA - vB|, vA * vB]`` (no per-gene "type" term)."""
        if self.config.pair_features == "similarity":
            return torch.cat([(va - vb).abs(), va * vb], dim=-1)
        return torch.cat([va + vb, (va - vb).abs(), va * vb], dim=-1)

    def score(self, va, vb):
        """Pair logits (B,) from embeddings (B, D) x 2; exactly symmetric in its arguments.

        With a grammar bag the last ``bag_dim`` coordinates are the bags: their term
        ``(bagA * bagB) @ u`` is added to the head's logit."""
        if self.proj is not None:
            return self.bilinear_logits(self.project(va), self.project(vb)) + self.bag_logits(va, vb)
        extra = self.bag_logits(va, vb)
        va, vb = va[..., :self.tower_dim], vb[..., :self.tower_dim]
        if self.head is None:
            num = (va * vb).sum(-1)
            den = (va.norm(dim=-1) * vb.norm(dim=-1)).clamp_min(1e-6)
            return self.cos_scale * num / den + self.cos_bias + extra
        return self.head(self.pair_features(va, vb)).squeeze(-1) + extra

    def bag_logits(self, va, vb):
        """The grammar-bag term ``(bagA * bagB) @ u`` (B,) of embeddings (B, D) x 2 (0 without a bag)."""
        if not self.bag_dim:
            return 0.0
        T = self.tower_dim
        return (va[..., T:] * vb[..., T:]) @ self.bag_weights().to(va.dtype)

    def bag_weights(self):
        """The grammar bag's weights ``u = gain * parameter`` (bag_dim,) in the score."""
        return self.config.grammar_gain * self.grammar_w

    def project(self, v):
        """Bilinear head: the per-gene projection p(v) (B, head_width) of embeddings (B, D)."""
        return self.proj(v[..., :self.tower_dim])

    def bilinear_logits(self, pa, pb):
        """Bilinear head: ``sum_k d_k pA_k pB_k + b`` (B,) of projections (B, K) x 2."""
        return (pa * pb) @ self.bil_d.to(pa.dtype) + self.bil_b

    def gemm_factors(self, emb):
        """The score's matrix-product terms as per-gene factors: ``(left (G, F), right (G, F), c)``
        with ``left[i] . right[j] + c`` = the logit of genes i, j (embeddings ``emb`` (G, D)) for
        the cosine and bilinear heads, and the grammar bag's term ``(bagA * u) . bagB`` (F = 0
        without a bag); with the MLP head only the bag's (the head's logit is added per pair).
        A block of pairs is then one GEMM: training's dense batches
        (:meth:`pair_logits`) and inference's :class:`tfvocab.model.scoring.FusedHeadScorer`."""
        T = self.tower_dim
        left, right, c = [], [], 0.0
        if self.bag_dim:
            bag = emb[:, T:]
            left.append(bag * self.bag_weights().to(bag.dtype))
            right.append(bag)
        if self.proj is not None:
            p = self.project(emb)
            left.append(p * self.bil_d.to(p.dtype))
            right.append(p)
            c = self.bil_b
        elif self.head is None:
            v = emb[:, :T]
            u = v / v.norm(dim=-1, keepdim=True).clamp_min(1e-6)
            left.append(u * self.cos_scale.to(u.dtype))
            right.append(u)
            c = self.cos_bias
        if not left:
            z = emb.new_zeros(emb.shape[0], 0)
            return z, z, c
        return torch.cat(left, dim=1), torch.cat(right, dim=1), c

    def pair_logits(self, emb, ia, ib):
        """Logits (P,) of pairs ``(ia[i], ib[i])`` of rows of ``emb`` (U, D): each gene's
        per-gene head work (the bilinear projection) done once, not once per pair.

        When the pairs are dense (P >= U^2 / 4, e.g. every pair among a gene batch) the terms that
        are matrix products (:meth:`gemm_factors`: the grammar bag, the bilinear and cosine
        heads) are computed for the (U, U) block in one GEMM and read at ``(ia, ib)``, instead
        of gathering two (P, D) matrices; only the MLP head's tower features stay per pair."""
        U = emb.shape[0]
        if len(ia) * 4 < U * U:
            if self.proj is not None:
                p = self.project(emb)
                return self.bilinear_logits(p[ia], p[ib]) + self.bag_logits(emb[ia], emb[ib])
            return self.score(emb[ia], emb[ib])
        left, right, c = self.gemm_factors(emb)
        out = (left @ right.T)[ia, ib] + c
        if self.head is not None:
            v = emb[:, :self.tower_dim]
            out = out + self.head(self.pair_features(v[ia], v[ib])).squeeze(-1)
        return out

    def forward(self, tokens, values, mask, inv_a, inv_b):
        return self.pair_logits(self.encode(tokens, values, mask), inv_a, inv_b)
