#!/usr/bin/env python3
"""Benchmark genome-wide all-vs-all prediction (``tfvocab predict`` without --pairs) on CPU.

Each measurement runs in its own subprocess so that its peak RSS (``ru_maxrss``) is its own:

* ``blockwise``: what ``tfvocab predict`` does — embed every gene once (a real, untrained
  SiameseTransformer with the default config, inputs (G, 50 windows, T TFs) generated chunk by
  chunk from a seeded generator), then the symmetric blockwise all-vs-all with the running top-k
  merge (:func:`tfvocab.predict.topk_all_vs_all` + :class:`~tfvocab.predict.FusedHeadScorer`).
* peer ``dense``: the same embeddings and the same fused head, but the full (G, G) score matrix
  is filled and ``torch.topk`` is taken over it (the obvious implementation): its memory grows
  with G^2 (27,000 genes -> 2.9 GB for the float32 matrix alone).
* peer ``generic head``: one 1024 x 1024 block scored through ``model.score`` on materialised
  pair features, against the fused scorer (speed ratio).

Default: blockwise at 5,000 and 27,000 genes (the genome preset: ~365 M pairs), dense at 5,000
(the largest size it is reasonable to run here), top-50 per gene. ``--quick``: 1,000 / 3,000 genes.
Prints wall times, pairs/s and peak RSS, and the ratios. Single-threaded by default (``--threads``).
"""
from __future__ import annotations

import os
import sys

# bench/ holds scripts named like stdlib modules (bench/tokenize.py): keep it off sys.path
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse
import json
import resource
import subprocess
import time


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def worker(args) -> dict:
    import numpy as np
    import torch

    from tfvocab.model import ModelConfig, SiameseTransformer
    from tfvocab.predict import (FusedHeadScorer, fix_mmap_threshold, model_scorer, score_block,
                                 topk_all_vs_all, topk_edges)

    fix_mmap_threshold()  # as tfvocab.predict.run does
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    G, T, W = args.genes, args.tfs, 50
    model = SiameseTransformer(ModelConfig(input="continuous", n_tfs=T, n_windows=W, pooling=args.pooling)).eval()
    rss0 = _peak_rss_mb()
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    emb = []
    with torch.no_grad():
        for s in range(0, G, 256):  # inputs generated per chunk, as embed_genes reads them per chunk
            n = min(256, G - s)
            x = torch.from_numpy(rng.standard_normal((n, W, T), dtype=np.float32))
            # .contiguous() as tfvocab.train.embed_genes: don't keep the CLS view's hidden state
            emb.append(model.encode(values=x, mask=torch.zeros(n, W, dtype=torch.bool)).contiguous())
    emb = torch.cat(emb)
    t_embed = time.perf_counter() - t0
    out = {"mode": args.mode, "genes": G, "pairs": G * (G - 1) // 2, "top_k": args.top_k,
           "embed_s": t_embed, "threads": args.threads}
    fused = FusedHeadScorer(model, emb)
    t0 = time.perf_counter()
    if args.mode == "blockwise":
        s, i = topk_all_vs_all(emb, model_scorer(model), k=args.top_k, block_size=args.block_size,
                               symmetric=True, block_score=fused)
    elif args.mode == "dense":
        full = torch.empty(G, G)
        for r in range(0, G, args.block_size):
            full[r:r + args.block_size] = fused(torch.arange(r, min(r + args.block_size, G)), torch.arange(G))
        full.fill_diagonal_(float("-inf"))
        s, i = torch.topk(full, args.top_k, dim=1)
        del full
    elif args.mode == "head":
        ri = torch.arange(min(1024, G))
        t1 = time.perf_counter()
        ref = score_block(model_scorer(model), emb[ri], emb[ri], pair_chunk=16384)
        out["generic_s"] = time.perf_counter() - t1
        t1 = time.perf_counter()
        got = fused(ri, ri)
        out["fused_s"] = time.perf_counter() - t1
        out["max_abs_diff"] = float((got - ref).abs().max())
        out["block_pairs"] = len(ri) ** 2
        out["peak_rss_mb"] = _peak_rss_mb()
        return out
    out["score_s"] = time.perf_counter() - t0
    genes = [f"G{j:05d}" for j in range(G)]
    t0 = time.perf_counter()
    edges = topk_edges(genes, s.numpy(), i.numpy())
    out["edges_s"] = time.perf_counter() - t0
    out["edges"] = len(edges)
    out["total_s"] = out["embed_s"] + out["score_s"] + out["edges_s"]
    out["peak_rss_mb"] = _peak_rss_mb()
    out["rss_after_import_mb"] = rss0
    return out


def measure(mode: str, genes: int, args) -> dict:
    cmd = [sys.executable, __file__, "--worker", "--mode", mode, "--genes", str(genes), "--tfs", str(args.tfs),
           "--top-k", str(args.top_k), "--block-size", str(args.block_size), "--threads", str(args.threads),
           "--pooling", args.pooling]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if res.returncode != 0:
        sys.stderr.write(res.stderr)
        raise SystemExit(f"worker {mode} {genes} failed")
    r = json.loads(res.stdout.strip().splitlines()[-1])
    print(f"  {mode:9s} {genes:>6,} genes: " + (
        f"{r['pairs']:>12,} pairs, embed {r['embed_s']:6.1f} s, score+top-k {r['score_s']:7.1f} s "
        f"({r['pairs'] / max(r['score_s'], 1e-9) / 1e6:5.2f} M pairs/s), edges {r['edges']:,}, "
        f"peak RSS {r['peak_rss_mb']:7.0f} MB" if mode != "head" else
        f"1024x1024 block: generic head {r['generic_s']:.2f} s, fused {r['fused_s']:.2f} s, "
        f"max |diff| {r['max_abs_diff']:.1e}"), flush=True)
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke run: 1,000 and 3,000 genes")
    ap.add_argument("--sizes", type=int, nargs="+", default=None, help="gene counts for blockwise")
    ap.add_argument("--dense-size", type=int, default=None, help="gene count for the dense peer")
    ap.add_argument("--tfs", type=int, default=300, help="TFs per window (default 300)")
    ap.add_argument("--top-k", type=int, default=50)
    ap.add_argument("--block-size", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--pooling", default="cls", help="model pooling: cls (D = d_model = 64, default) or "
                    "flatten (D = 50 windows x pool_dim 8 = 400: a ~6x costlier pair head)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--mode", default="blockwise", help=argparse.SUPPRESS)
    ap.add_argument("--genes", type=int, default=1000, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return
    sizes = args.sizes or ([1000, 3000] if args.quick else [5000, 27000])
    dense = args.dense_size or (3000 if args.quick else 5000)
    print(f"tfvocab predict all-vs-all benchmark (CPU, {args.threads} thread(s), top-{args.top_k}, "
          f"block {args.block_size}, {args.tfs} TFs x 50 windows, untrained model, {args.pooling} pooling)",
          flush=True)
    head = measure("head", 1024, args)
    rows = [measure("blockwise", g, args) for g in sizes]
    peer = measure("dense", dense, args)
    same = next((r for r in rows if r["genes"] == dense), None)
    print("summary:")
    print(f"  fused head vs generic model.score: {head['generic_s'] / head['fused_s']:.2f}x faster")
    lo, hi = rows[0], rows[-1]
    print(f"  blockwise peak RSS {lo['genes']:,} -> {hi['genes']:,} genes: {lo['peak_rss_mb']:.0f} -> "
          f"{hi['peak_rss_mb']:.0f} MB (ratio {hi['peak_rss_mb'] / lo['peak_rss_mb']:.2f} for "
          f"{hi['pairs'] / lo['pairs']:.0f}x the pairs); bounded < 4 GB: {hi['peak_rss_mb'] < 4096}")
    print(f"  blockwise wall time at {hi['genes']:,} genes: {hi['total_s']:.1f} s "
          f"({hi['total_s'] / 60:.1f} min) for {hi['pairs']:,} pairs")
    if same is not None:
        print(f"  dense peer at {dense:,} genes: peak RSS {peer['peak_rss_mb']:.0f} MB vs blockwise "
              f"{same['peak_rss_mb']:.0f} MB (x{peer['peak_rss_mb'] / same['peak_rss_mb']:.2f}); "
              f"time {peer['score_s']:.1f} s vs {same['score_s']:.1f} s "
              f"(blockwise x{peer['score_s'] / same['score_s']:.2f} faster: symmetric blocks score half the "
              f"pairs, and 1024-wide blocks stay in cache)")
    g = hi["genes"]
    print(f"  dense peer at {g:,} genes would need the {g:,}^2 float32 matrix alone: "
          f"{g * g * 4 / 2**30:.1f} GiB (+ its top-k copy)")


if __name__ == "__main__":
    main()
