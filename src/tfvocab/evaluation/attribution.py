"""Attribution methods for a trained pair model (pure functions on a model and tensors, no I/O).

:func:`attention_rollout` / :func:`gene_rollout` (Abnar & Zuidema 2020: per-window weights of a
gene), :func:`integrated_gradients` (Sundararajan et al. 2017: of the pair logit w.r.t. both
promoters' inputs, trapezoid rule) and :func:`knockout_values` (every single-TF knock-out of a
promoter's signal). The ``interpret`` step (:mod:`tfvocab.evaluation.interpret`, whose docstring describes
the methods in full) applies them to its example pairs.
"""
from __future__ import annotations

import contextlib

import numpy as np
import torch


# ----------------------------------------------------------------------------------------------
# attention rollout


def attention_rollout(attn: list[torch.Tensor], key_mask: torch.Tensor, pooling: str,
                      has_cls: bool) -> torch.Tensor:
    """Rollout weights over windows, (B, W), rows summing to 1.

    ``attn``: one (B, H, L, L) tensor per layer (L = W, +1 with a CLS position at index 0);
    ``key_mask`` (B, L) True = position ignored; ``pooling``: ``cls`` (read the CLS row) or
    anything else (``mean``/``flatten``: average the rows of the kept positions).
    """
    B, _, L, _ = attn[0].shape
    eye = torch.eye(L, dtype=attn[0].dtype, device=attn[0].device)
    R = eye.expand(B, L, L)
    for a in attn:
        a = a.mean(dim=1)
        a = 0.5 * a + 0.5 * eye
        a = a / a.sum(dim=-1, keepdim=True)
        R = a @ R
    if pooling == "cls":
        row = R[:, 0, :]
    else:
        keep = (~key_mask).to(R.dtype)
        row = (R * keep[:, :, None]).sum(1) / keep.sum(1, keepdim=True).clamp_min(1.0)
    if has_cls:
        row = row[:, 1:]
    return row / row.sum(dim=-1, keepdim=True).clamp_min(1e-12)


@torch.no_grad()
def gene_rollout(model, tokens, values, mask) -> torch.Tensor:
    """Attention rollout (B, W) of genes given as model inputs (see :func:`attention_rollout`)."""
    _, attn = model.encode(tokens, values, mask, return_attention=True)
    has_cls = model.cls is not None
    m = mask & ~mask.all(dim=1, keepdim=True)
    kpm = torch.cat([torch.zeros_like(m[:, :1]), m], 1) if has_cls else m
    return attention_rollout(attn, kpm, model.config.pooling, has_cls)


# ----------------------------------------------------------------------------------------------
# integrated gradients


def trapezoid_weights(steps: int) -> torch.Tensor:
    """Weights (steps+1,) of the trapezoid rule on alpha = 0, 1/steps, ..., 1 (sum 1)."""
    w = torch.full((steps + 1,), 1.0 / steps)
    w[0] = w[-1] = 0.5 / steps
    return w


@contextlib.contextmanager
def _window_embeddings(model, emb: torch.Tensor):
    """Make ``model.encode`` use ``emb`` (B, W, D) as its window embeddings (instance override)."""
    model.embed_windows = lambda tokens, values: emb
    try:
        yield
    finally:
        del model.embed_windows


def integrated_gradients(model, a: dict, b: dict, base_a: torch.Tensor, base_b: torch.Tensor,
                         kind: str, steps: int = 32) -> dict:
    """IG of the pair logit w.r.t. both promoters' inputs, for one pair.

    ``a``, ``b``: ``{"tokens": (W,) | None, "values": (W, T) | None, "mask": (W,)}``.
    ``kind``: ``values`` (input = (W, T) signal, baselines (W, T)) or ``embedding`` (input = the
    (W, D) token embeddings, baselines (W, D)). Returns ``attr_a, attr_b`` (input-shaped),
    ``logit``, ``baseline_logit`` and ``delta_sum`` (sum of attributions).
    """
    n = steps + 1
    dev = base_a.device
    alphas = torch.linspace(0.0, 1.0, n, device=dev)
    w = trapezoid_weights(steps).to(dev)

    def actual(g):
        if kind == "values":
            return g["values"]
        with torch.no_grad():
            return model.tok_emb(g["tokens"])

    xa, xb = actual(a), actual(b)
    path_a = (base_a + alphas.view(-1, 1, 1) * (xa - base_a)).detach().requires_grad_(True)
    path_b = (base_b + alphas.view(-1, 1, 1) * (xb - base_b)).detach().requires_grad_(True)

    def rep(g, key):
        t = g[key]
        return None if t is None else t.unsqueeze(0).expand(n, *t.shape)

    ma, mb = rep(a, "mask"), rep(b, "mask")
    if kind == "values":
        va = model.encode(rep(a, "tokens"), path_a, ma)
        vb = model.encode(rep(b, "tokens"), path_b, mb)
    else:
        extra_a = model.val_proj(rep(a, "values")) if model.val_proj is not None else 0.0
        extra_b = model.val_proj(rep(b, "values")) if model.val_proj is not None else 0.0
        with _window_embeddings(model, path_a + extra_a):
            va = model.encode(None, None, ma)
        with _window_embeddings(model, path_b + extra_b):
            vb = model.encode(None, None, mb)
    logits = model.score(va, vb)
    ga, gb = torch.autograd.grad(logits.sum(), [path_a, path_b])
    attr_a = (xa - base_a) * (w.view(-1, 1, 1) * ga).sum(0)
    attr_b = (xb - base_b) * (w.view(-1, 1, 1) * gb).sum(0)
    return {"attr_a": attr_a.detach(), "attr_b": attr_b.detach(), "logit": float(logits[-1].detach()),
            "baseline_logit": float(logits[0].detach()),
            "delta_sum": float(attr_a.sum() + attr_b.sum())}


# ----------------------------------------------------------------------------------------------
# knock-outs


def knockout_values(values: np.ndarray, observed: np.ndarray, null_level: np.ndarray) -> np.ndarray:
    """All single-TF knock-outs of one promoter.

    ``values`` (W, T) normalised signal, ``observed`` (W, T) bool, ``null_level`` (T,) "no
    binding" level. Returns (T, W, T): copy ``t`` has TF ``t`` set to ``null_level[t]`` wherever
    observed.
    """
    W, T = values.shape
    out = np.repeat(values[None], T, axis=0)
    t = np.arange(T)
    out[t, :, t] = np.where(observed.T, null_level[:, None], values.T)
    return out
