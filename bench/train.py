"""Training throughput: gene-deduplicated batches vs encoding both sides of every pair.

Same model, same batches, same run. Batches are drawn the way co-expression lists look: pairs
concentrate on module/hub genes, so a batch of B pairs touches far fewer than 2B distinct genes.
The deduplicated step encodes each distinct gene once (torch.unique + gather); the naive step
encodes gene A and gene B of every pair. Prints pairs/s of both and the ratio.

    OMP_NUM_THREADS=1 python -P bench/train.py [--batch-size 256] [--genes-per-batch 48] [--steps 10]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from tfvocab.data import dedup_pairs
from tfvocab.model import ModelConfig, SiameseTransformer


def make_batches(rng, n_genes, n_batches, batch_size, genes_per_batch):
    """Batches of (ia, ib): pairs among ``genes_per_batch`` genes of a few modules (with hubs)."""
    out = []
    for _ in range(n_batches):
        genes = rng.choice(n_genes, size=genes_per_batch, replace=False)
        # hub-skewed: a Zipf-like weight on the batch's genes
        w = 1.0 / np.arange(1, genes_per_batch + 1) ** 0.5
        w /= w.sum()
        a = rng.choice(genes, size=batch_size, p=w)
        b = rng.choice(genes, size=batch_size)
        same = a == b
        b[same] = genes[(np.searchsorted(np.sort(genes), b[same]) + 1) % genes_per_batch]
        out.append((torch.as_tensor(a), torch.as_tensor(b), torch.as_tensor(rng.random(batch_size) < 0.25).float()))
    return out


def step(model, opt, data, batch, dedup):
    tok, val, mask = data
    ia, ib, y = batch
    if dedup:
        uniq, inv_a, inv_b = dedup_pairs(ia, ib)
        logits = model(tok[uniq], val[uniq], mask[uniq], inv_a, inv_b)
        n_enc = len(uniq)
    else:
        logits = model.score(model.encode(tok[ia], val[ia], mask[ia]), model.encode(tok[ib], val[ib], mask[ib]))
        n_enc = 2 * len(ia)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return n_enc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--genes", type=int, default=2000)
    ap.add_argument("--windows", type=int, default=50)
    ap.add_argument("--tfs", type=int, default=40)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--genes-per-batch", type=int, default=48, help="distinct genes the batch's pairs are drawn from")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    G, W, T = a.genes, a.windows, a.tfs
    data = (torch.randint(0, 100, (G, W)), torch.randn(G, W, T), torch.rand(G, W) < 0.05)
    cfg = ModelConfig(input="both", n_tokens=100, n_tfs=T, n_windows=W, d_model=a.d_model, n_layers=a.layers,
                      n_heads=4)
    model = SiameseTransformer(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    batches = make_batches(rng, G, a.steps, a.batch_size, a.genes_per_batch)
    for dedup in (True, False):            # warm-up
        step(model, opt, data, batches[0], dedup)
    res = {}
    for dedup in (True, False):
        n_enc = 0
        t0 = time.perf_counter()
        for b in batches:
            n_enc += step(model, opt, data, b, dedup)
        dt = time.perf_counter() - t0
        res[dedup] = (a.steps * a.batch_size / dt, n_enc / a.steps)
    print(f"device cpu, {torch.get_num_threads()} thread(s); model d_model={a.d_model}, layers={a.layers}, "
          f"W={W}, T={T}; batch {a.batch_size} pairs drawn among {a.genes_per_batch} genes, {a.steps} steps")
    print(f"gene-deduplicated : {res[True][0]:9.1f} pairs/s  ({res[True][1]:.1f} promoters encoded per batch)")
    print(f"encode both sides : {res[False][0]:9.1f} pairs/s  ({res[False][1]:.1f} promoters encoded per batch)")
    print(f"speed-up          : {res[True][0] / res[False][0]:.2f}x")


if __name__ == "__main__":
    main()
