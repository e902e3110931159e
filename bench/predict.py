#!/usr/bin/env python3
"""Benchmark genome-wide all-vs-all ``tfvocab predict`` (no --pairs) on CPU, with the DEFAULT model.

The model is what ``tfvocab train`` builds by default (:class:`tfvocab.model.model.ModelConfig()`:
1 layer, d_model 32, flatten pooling -> 50 windows x pool_dim 8 = 400-dim embeddings), untrained
(seeded weights: speed and memory do not depend on the weights); ``--pooling cls --d-model 64
--n-layers 2`` gives the earlier (CLS, 64-dim) model for comparison. Inputs are real files in
``--workdir`` (reused between runs): ``normalized.h5`` (G genes x 50 windows x ``--tfs`` TFs,
float32, chunked by 256 genes as ``tfvocab normalize`` writes it, ~2 % missing windows) and
``tokens.h5``, plus ``model.pt``. Each measurement runs in its own subprocess so that its peak RSS
(``ru_maxrss``) is its own:

* ``predict``: :func:`tfvocab.evaluation.predict.run` itself, i.e. ``tfvocab predict --top-k 50`` - stream
  ``normalized.h5`` in gene blocks, embed every gene once, symmetric blockwise all-vs-all through
  :class:`~tfvocab.evaluation.predict.FusedHeadScorer` with a running top-k, edge union, network (Louvain
  modules, hubs, GraphML). Per-stage seconds come from ``predict.summary.json``.
* peer ``dense``: the same streamed embeddings and fused head, but the full (G, G) score matrix
  is filled and ``torch.topk`` taken over it (the obvious implementation; memory grows with G^2).
* peer ``embed`` in memory vs streamed: ``load_gene_data`` + ``embed_genes`` with the whole
  (G, 50, T) signal loaded (``stream=False``, what train/evaluate do) vs streamed from the file.
* peer ``generic head``: one 1024 x 1024 block scored through ``model.score`` on materialised
  pair features vs the fused scorer (speed ratio and max |difference|).

Default: predict at 5,000 and 27,000 genes (the genome preset: ~365 M pairs), dense and embed
peers at 5,000 / 27,000. ``--quick``: 1,000 / 3,000 genes. Single-threaded by default (``--threads``).
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
from pathlib import Path

W = 50


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def model_config(args):
    from tfvocab.model.model import ModelConfig

    over = {k: getattr(args, k) for k in ("pooling", "d_model", "n_layers") if getattr(args, k) is not None}
    return ModelConfig(input="continuous", n_tfs=args.tfs, n_windows=W, **over)


def make_inputs(workdir: Path, G: int, args) -> dict:
    """normalized.h5 / tokens.h5 / model.pt for G genes (written once, chunk by chunk)."""
    import h5py
    import numpy as np
    import torch

    from tfvocab.io import sha256_array, write_strings
    from tfvocab.model.model import SiameseTransformer
    from tfvocab.model.train import TRAIN_DEFAULTS, save_model

    cfg = model_config(args)
    d = workdir / f"g{G}_t{args.tfs}"
    d.mkdir(parents=True, exist_ok=True)
    paths = {"normalized": d / "normalized.h5", "tokens": d / "tokens.h5",
             "model": d / f"model_{cfg.pooling}_{cfg.d_model}_{cfg.n_layers}.pt"}
    genes = [f"AT{1 + i // 9000}G{i % 9000:05d}0" for i in range(G)]
    tfs = [f"TF{i:03d}" for i in range(args.tfs)]
    ws = (-2000 + 50 * np.arange(W)).astype(np.int64)
    if not (paths["normalized"].exists() and paths["tokens"].exists()):
        rng = np.random.default_rng(0)
        K = 64
        tok = np.empty((G, W), np.int32)
        with h5py.File(str(paths["normalized"]) + ".tmp", "w") as h5:
            write_strings(h5, "genes", genes)
            write_strings(h5, "tfs", tfs)
            h5["window_start"] = ws
            ch = (min(G, 256), W, args.tfs)
            sig = h5.create_dataset("signal", (G, W, args.tfs), np.float32, chunks=ch)
            msk = h5.create_dataset("mask", (G, W, args.tfs), bool, chunks=ch)
            for s in range(0, G, 256):
                n = min(256, G - s)
                x = rng.standard_normal((n, W, args.tfs), dtype=np.float32)
                m = np.repeat((rng.random((n, W)) < 0.02)[:, :, None], args.tfs, axis=2)
                x[m] = np.nan
                sig[s:s + n], msk[s:s + n] = x, m
                tok[s:s + n] = np.where(m[:, :, 0], 0, rng.integers(1, K, (n, W)))
        os.replace(str(paths["normalized"]) + ".tmp", paths["normalized"])
        codebook = np.random.default_rng(1).standard_normal((K, args.tfs)).astype(np.float32)
        with h5py.File(str(paths["tokens"]) + ".tmp", "w") as h5:
            write_strings(h5, "genes", genes)
            write_strings(h5, "tfs", tfs)
            h5["window_start"] = ws
            h5["tokens"], h5["codebook"] = tok, codebook
            h5.attrs.update({"mask_token": 0, "null_token": 1, "n_tokens": K,
                             "vocab_hash": sha256_array(codebook)})
        os.replace(str(paths["tokens"]) + ".tmp", paths["tokens"])
    if not paths["model"].exists():
        import h5py as _h5

        with _h5.File(paths["tokens"], "r") as h5:
            vh = h5.attrs["vocab_hash"]
        torch.manual_seed(0)
        model = SiameseTransformer(cfg).eval()
        meta = argparse.Namespace(vocab_hash=str(vh), tfs=tfs, window_start=ws)
        save_model(paths["model"], model, dict(TRAIN_DEFAULTS), meta, 0, 0.0)
    return {k: str(v) for k, v in paths.items()}


def worker(args) -> dict:
    import torch

    from tfvocab.data.genedata import load_gene_data
    from tfvocab.evaluation.predict import (FusedHeadScorer, fix_mmap_threshold, model_scorer, score_block,
                                 topk_edges)
    from tfvocab.model.inference import embed_genes, load_model

    torch.set_num_threads(args.threads)
    p = json.loads(args.paths)
    G = args.genes
    out = {"mode": args.mode, "genes": G, "pairs": G * (G - 1) // 2, "top_k": args.top_k,
           "threads": args.threads, "rss_after_import_mb": _peak_rss_mb()}
    if args.mode == "predict":
        from tfvocab.evaluation.predict import run

        t0 = time.perf_counter()
        paths = run(p["model"], p["tokens"], p["normalized"], args.outdir, top_k=args.top_k,
                    block_size=args.block_size, device="cpu")
        out["total_s"] = time.perf_counter() - t0
        summ = json.loads(Path(paths["summary"]).read_text())
        out["seconds"] = summ["seconds"]
        out["edges"] = summ["n_edges"]
        out["peak_rss_mb"] = _peak_rss_mb()
        return out
    fix_mmap_threshold()  # as tfvocab.evaluation.predict.run does
    stream = args.mode != "embed_memory"
    t0 = time.perf_counter()
    data = load_gene_data(p["tokens"], p["normalized"], "continuous", stream=stream)
    model, _ = load_model(p["model"], data)
    out["load_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    emb = embed_genes(model, data, torch.arange(G), "cpu")
    out["embed_s"] = time.perf_counter() - t0
    out["dim"] = int(emb.shape[1])
    if args.mode.startswith("embed"):
        out["peak_rss_mb"] = _peak_rss_mb()
        return out
    del data
    fused = FusedHeadScorer(model, emb)
    if args.mode == "head":
        ri = torch.arange(min(1024, G))
        t1 = time.perf_counter()
        ref = score_block(model_scorer(model), emb[ri], emb[ri], pair_chunk=16384)
        out["generic_s"] = time.perf_counter() - t1
        fused(ri[:8], ri)
        t1 = time.perf_counter()
        got = fused(ri, ri)
        out["fused_s"] = time.perf_counter() - t1
        out["max_abs_diff"] = float((got - ref).abs().max())
        out["block_pairs"] = len(ri) ** 2
        out["peak_rss_mb"] = _peak_rss_mb()
        return out
    t0 = time.perf_counter()                                   # dense peer
    full = torch.empty(G, G)
    for r in range(0, G, args.block_size):
        full[r:r + args.block_size] = fused(torch.arange(r, min(r + args.block_size, G)), torch.arange(G))
    full.fill_diagonal_(float("-inf"))
    s, i = torch.topk(full, args.top_k, dim=1)
    del full
    out["score_s"] = time.perf_counter() - t0
    edges = topk_edges([f"G{j:05d}" for j in range(G)], s.numpy(), i.numpy())
    out["edges"] = len(edges)
    out["peak_rss_mb"] = _peak_rss_mb()
    return out


def measure(mode: str, genes: int, args) -> dict:
    paths = make_inputs(Path(args.workdir), genes, args)
    cmd = [sys.executable, __file__, "--worker", "--mode", mode, "--genes", str(genes), "--tfs", str(args.tfs),
           "--top-k", str(args.top_k), "--block-size", str(args.block_size), "--threads", str(args.threads),
           "--paths", json.dumps(paths), "--outdir", str(Path(args.workdir) / f"out_{mode}_{genes}")]
    for k in ("pooling", "d_model", "n_layers"):
        if getattr(args, k) is not None:
            cmd += [f"--{k.replace('_', '-')}", str(getattr(args, k))]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if res.returncode != 0:
        sys.stderr.write(res.stderr[-5000:])
        raise SystemExit(f"worker {mode} {genes} failed")
    r = json.loads(res.stdout.strip().splitlines()[-1])
    if mode == "predict":
        sec = r["seconds"]
        msg = (f"{r['pairs']:>12,} pairs: total {r['total_s']:6.1f} s (load {sec['load']:.1f}, embed "
               f"{sec['embed']:.1f}, score+top-k {sec['score']:.1f} = "
               f"{r['pairs'] / max(sec['score'], 1e-9) / 1e6:.2f} M pairs/s, edges {sec['edges']:.1f}, "
               f"network {sec['network']:.1f}), {r['edges']:,} edges, peak RSS {r['peak_rss_mb']:6.0f} MB")
    elif mode == "dense":
        msg = (f"{r['pairs']:>12,} pairs: embed {r['embed_s']:.1f} s, full matrix + top-k {r['score_s']:.1f} s, "
               f"peak RSS {r['peak_rss_mb']:6.0f} MB")
    elif mode == "head":
        msg = (f"1024x1024 block (D = {r['dim']}): generic model.score {r['generic_s']:.2f} s, fused "
               f"{r['fused_s']:.2f} s, max |diff| {r['max_abs_diff']:.1e}")
    else:
        msg = f"load {r['load_s']:.1f} s, embed {r['embed_s']:.1f} s, peak RSS {r['peak_rss_mb']:6.0f} MB"
    print(f"  {mode:12s} {genes:>6,} genes: {msg}", flush=True)
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke run: 1,000 and 3,000 genes")
    ap.add_argument("--sizes", type=int, nargs="+", default=None, help="gene counts for predict")
    ap.add_argument("--dense-size", type=int, default=None, help="gene count for the dense peer")
    ap.add_argument("--workdir", default="/tmp/tfvocab_bench_predict",
                    help="inputs (kept for reuse: 27,000 genes x 300 TFs = 2 GB) and outputs")
    ap.add_argument("--tfs", type=int, default=300, help="TFs per window (default 300)")
    ap.add_argument("--top-k", type=int, default=50)
    ap.add_argument("--block-size", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--pooling", default=None, help="override ModelConfig.pooling (default: flatten)")
    ap.add_argument("--d-model", type=int, default=None, help="override ModelConfig.d_model (default 32)")
    ap.add_argument("--n-layers", type=int, default=None, help="override ModelConfig.n_layers (default 1)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["head", "dense", "embed"],
                    help="peers to leave out")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--mode", default="predict", help=argparse.SUPPRESS)
    ap.add_argument("--genes", type=int, default=1000, help=argparse.SUPPRESS)
    ap.add_argument("--paths", default="{}", help=argparse.SUPPRESS)
    ap.add_argument("--outdir", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return
    sizes = args.sizes or ([1000, 3000] if args.quick else [5000, 27000])
    dense = args.dense_size or sizes[0]
    cfg = model_config(args)
    print(f"tfvocab predict all-vs-all benchmark (CPU, {args.threads} thread(s), top-{args.top_k}, "
          f"block {args.block_size}, {args.tfs} TFs x {W} windows, untrained model: {cfg.pooling} pooling, "
          f"d_model {cfg.d_model}, {cfg.n_layers} layer(s), pair features {cfg.pair_features})", flush=True)
    head = measure("head", sizes[0], args) if "head" not in args.skip else None
    rows = [measure("predict", g, args) for g in sizes]
    peer = measure("dense", dense, args) if "dense" not in args.skip else None
    emb_pair = None
    if "embed" not in args.skip:
        emb_pair = (measure("embed_memory", sizes[-1], args), measure("embed_stream", sizes[-1], args))
    print("summary:")
    if head:
        print(f"  fused head vs generic model.score (D = {head['dim']}): "
              f"{head['generic_s'] / head['fused_s']:.2f}x faster, max |diff| {head['max_abs_diff']:.1e}")
    lo, hi = rows[0], rows[-1]
    print(f"  predict peak RSS {lo['genes']:,} -> {hi['genes']:,} genes: {lo['peak_rss_mb']:.0f} -> "
          f"{hi['peak_rss_mb']:.0f} MB (ratio {hi['peak_rss_mb'] / lo['peak_rss_mb']:.2f} for "
          f"{hi['pairs'] / lo['pairs']:.0f}x the pairs); bounded < 4 GB: {hi['peak_rss_mb'] < 4096}")
    print(f"  predict wall time at {hi['genes']:,} genes: {hi['total_s']:.1f} s ({hi['total_s'] / 60:.1f} min) "
          f"for {hi['pairs']:,} pairs; all-vs-all scoring alone {hi['seconds']['score']:.1f} s")
    same = next((r for r in rows if r["genes"] == dense), None)
    if peer and same:
        print(f"  dense peer at {dense:,} genes: peak RSS {peer['peak_rss_mb']:.0f} MB vs predict "
              f"{same['peak_rss_mb']:.0f} MB (x{peer['peak_rss_mb'] / same['peak_rss_mb']:.2f}); scoring "
              f"{peer['score_s']:.1f} s vs {same['seconds']['score']:.1f} s (blockwise "
              f"x{peer['score_s'] / same['seconds']['score']:.2f} faster: symmetric blocks score half the pairs)")
    g = hi["genes"]
    print(f"  dense peer at {g:,} genes would need the {g:,}^2 float32 matrix alone: "
          f"{g * g * 4 / 2**30:.1f} GiB (+ its top-k copy)")
    if emb_pair:
        m, s = emb_pair
        print(f"  embedding inputs at {m['genes']:,} genes: in memory {m['peak_rss_mb']:.0f} MB "
              f"({m['load_s'] + m['embed_s']:.1f} s) vs streamed {s['peak_rss_mb']:.0f} MB "
              f"({s['load_s'] + s['embed_s']:.1f} s): x{m['peak_rss_mb'] / s['peak_rss_mb']:.1f} less memory")


if __name__ == "__main__":
    main()
