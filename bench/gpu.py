#!/usr/bin/env python3
"""GPU throughput of the default model: training pairs/s in bf16 vs fp32, predict all-vs-all
pairs/s, and the same training on 2 processes under ``torchrun`` when 2 GPUs exist.

    python -P bench/gpu.py                      # on a CUDA machine (skips cleanly without one)
    python -P bench/gpu.py --allow-cpu --quick  # smoke run of the same code on CPU (no figures)

Inputs are synthetic, at genome size by default: 27,000 genes x 50 windows x 300 TFs of
continuous values (the default ``model_input``; ~1.6 GB float32, held on the GPU), the default
model of ``tfvocab train`` (:func:`tfvocab.model.training.resolve_params`). What is timed is the code
the steps run:

* **training**: one optimiser step per batch of ``batch_size`` pairs exactly as
  :func:`tfvocab.model.training.train_model` does it with ``--batching pairs`` (each distinct gene of the batch encoded once,
  :func:`tfvocab.data.genedata.dedup_pairs`; class-balanced BCE; AdamW; gradient clipping), in fp32 and under
  :func:`tfvocab.model.inference.autocast` (bf16); after ``--warmup`` steps, ``--steps`` steps timed
  with ``torch.cuda.synchronize``. Pairs/s = pairs per step x steps / seconds.
* **predict all-vs-all**: every gene embedded once (:func:`tfvocab.model.inference.embed_genes`) and
  the top-50 partners of every gene among all others (:func:`tfvocab.model.scoring.topk_all_vs_all`
  with the fused head scorer, as ``tfvocab predict``); pairs/s = G (G - 1) / 2 / seconds.
* **DDP** (``torch.cuda.device_count() >= 2``): the training measurement again in 2 processes
  started with ``torchrun --nproc_per_node 2`` (DistributedDataParallel, NCCL); pairs/s summed
  over the ranks, and the scaling against one GPU.

Prints one table and writes ``--out`` (JSON). Exit 0 with a message when no GPU is present.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]


def synthetic_data(G: int, W: int, T: int, device, seed: int = 0):
    """A :class:`tfvocab.data.genedata.GeneData` of continuous inputs: sparse enrichment-like values."""
    import numpy as np
    import torch

    from tfvocab.data.genedata import GeneData

    g = torch.Generator(device="cpu").manual_seed(seed)
    vals = torch.zeros((G, W, T), dtype=torch.float32)
    for s in range(0, G, 2048):          # ~5 % of (window, TF) cells bound, z in 3..10
        e = min(G, s + 2048)
        on = torch.rand((e - s, W, T), generator=g) < 0.05
        vals[s:e][on] = 3 + 7 * torch.rand(int(on.sum()), generator=g)
    mask = torch.zeros((G, W), dtype=torch.bool)
    return GeneData(genes=[f"G{i:05d}" for i in range(G)], window_start=np.arange(W) * 50 - 2000,
                    values=vals.to(device), mask=mask.to(device), value_mask=mask.to(device),
                    mode="continuous", tfs=[f"tf{i}" for i in range(T)])


def train_throughput(data, params: dict, device, *, bf16: bool, steps: int, warmup: int,
                     ddp=None, seed: int = 0) -> dict:
    """Pairs/s of training steps on random pairs (the loop body of ``train_model``)."""
    import torch

    from tfvocab.data.genedata import dedup_pairs
    from tfvocab.model.inference import autocast
    from tfvocab.model.batches import batch_loss
    from tfvocab.model.training import build_model

    torch.manual_seed(seed)
    model = build_model(params, data).to(device)
    net = model
    if ddp is not None:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[ddp])
    opt = torch.optim.AdamW(model.parameters(), lr=float(params["lr"]),
                            weight_decay=float(params["weight_decay"]))
    G, bs = len(data.genes), int(params["batch_size"])
    g = torch.Generator().manual_seed(seed + (ddp or 0))
    ctx = autocast(device) if bf16 else torch.autocast("cuda", enabled=False)

    def step():
        ia = torch.randint(0, G, (bs,), generator=g)
        ib = torch.randint(0, G, (bs,), generator=g)
        y = (torch.rand(bs, generator=g) < 0.1).float().to(device)
        uniq, inv_a, inv_b = dedup_pairs(ia, ib)
        tok, val, m = data.gather(uniq.to(device))
        with ctx:
            logits = net(tok, val, m, inv_a.to(device), inv_b.to(device)).float()
        loss = batch_loss(logits, y)[0]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    model.train()
    for _ in range(warmup):
        step()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    sec = time.perf_counter() - t0
    return {"pairs_per_s": bs * steps / sec, "seconds": sec, "steps": steps, "batch_size": bs,
            "peak_gpu_mb": peak_mb(device)}


def predict_throughput(data, params: dict, device, *, bf16: bool, top_k: int = 50) -> dict:
    """All-vs-all top-k as ``tfvocab predict`` runs it; pairs/s over G (G - 1) / 2 pairs."""
    import torch

    from tfvocab.model.inference import autocast, embed_genes
    from tfvocab.model.scoring import FusedHeadScorer, model_scorer, topk_all_vs_all
    from tfvocab.model.training import build_model

    torch.manual_seed(0)
    model = build_model(params, data).to(device).eval()
    G = len(data.genes)
    ctx = autocast(device) if bf16 else torch.autocast("cuda", enabled=False)
    sync(device)
    t0 = time.perf_counter()
    with ctx:
        emb = embed_genes(model, data, torch.arange(G), device).to(device)
    sync(device)
    t_emb = time.perf_counter() - t0
    t1 = time.perf_counter()
    with torch.inference_mode(), ctx:
        try:
            fused = FusedHeadScorer(model, emb)
        except ValueError:                       # a cosine head has no MLP to fuse
            fused = None
        topk_all_vs_all(emb, model_scorer(model), k=top_k, block_score=fused)
    sync(device)
    t_score = time.perf_counter() - t1
    n_pairs = G * (G - 1) // 2
    return {"pairs_per_s": n_pairs / (t_emb + t_score), "embed_s": t_emb, "score_s": t_score,
            "n_pairs": n_pairs, "peak_gpu_mb": peak_mb(device)}


def sync(device) -> None:
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def peak_mb(device) -> float | None:
    import torch

    if torch.device(device).type != "cuda":
        return None
    mb = torch.cuda.max_memory_allocated() / 2**20
    torch.cuda.reset_peak_memory_stats()
    return mb


def ddp_worker(a) -> None:
    """One rank of the torchrun measurement: prints a JSON line from every rank."""
    import torch
    import torch.distributed as dist

    from tfvocab.model.training import resolve_params

    rank, local = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
    torch.cuda.set_device(local)
    dist.init_process_group("nccl")
    device = torch.device("cuda", local)
    data = synthetic_data(a.genes, a.windows, a.tfs, device)
    res = train_throughput(data, resolve_params(), device, bf16=True, steps=a.steps, warmup=a.warmup,
                           ddp=local)
    print("DDP " + json.dumps({"rank": rank, **res}), flush=True)
    dist.destroy_process_group()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--genes", type=int, default=27_000)
    ap.add_argument("--windows", type=int, default=50)
    ap.add_argument("--tfs", type=int, default=300)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="2,000 genes x 40 TFs, 3 steps")
    ap.add_argument("--allow-cpu", action="store_true", help="run the code on CPU (smoke test)")
    ap.add_argument("--out", default="gpu_bench.json")
    ap.add_argument("--ddp-worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.quick:
        a.genes, a.tfs, a.steps, a.warmup = 2_000, 40, 3, 1
    import torch

    if a.ddp_worker:
        ddp_worker(a)
        return 0
    if not torch.cuda.is_available() and not a.allow_cpu:
        print("bench/gpu.py: no CUDA device (torch %s): nothing measured." % torch.__version__)
        return 0
    from tfvocab.model.training import resolve_params

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    name = torch.cuda.get_device_name(0) if device.type == "cuda" else "CPU (smoke run)"
    params = resolve_params()
    print(f"# bench/gpu.py: {name}, torch {torch.__version__}, {a.genes} genes x {a.windows} "
          f"windows x {a.tfs} TFs, batch {params['batch_size']} pairs, default model")
    data = synthetic_data(a.genes, a.windows, a.tfs, device)
    rows = {}
    modes = [("fp32", False), ("bf16", True)] if device.type == "cuda" else [("fp32", False)]
    for label, bf16 in modes:
        rows[f"train_{label}"] = train_throughput(data, params, device, bf16=bf16, steps=a.steps,
                                                  warmup=a.warmup)
        rows[f"predict_{label}"] = predict_throughput(data, params, device, bf16=bf16)
    n_gpu = torch.cuda.device_count() if device.type == "cuda" else 0
    if n_gpu >= 2:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
               os.path.abspath(__file__), "--ddp-worker", "--genes", str(a.genes), "--windows",
               str(a.windows), "--tfs", str(a.tfs), "--steps", str(a.steps), "--warmup", str(a.warmup)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        ranks = [json.loads(line[4:]) for line in out.splitlines() if line.startswith("DDP ")]
        rows["train_bf16_ddp2"] = {"pairs_per_s": sum(r["pairs_per_s"] for r in ranks),
                                   "ranks": ranks}
    print(f"\n{'measurement':22s} {'pairs/s':>14s} {'peak GPU MB':>12s}")
    for k, v in rows.items():
        pk = v.get("peak_gpu_mb")
        print(f"{k:22s} {v['pairs_per_s']:14,.0f} {'' if pk is None else f'{pk:12,.0f}'}")
    if "train_bf16" in rows:
        print(f"\nbf16 / fp32: training {rows['train_bf16']['pairs_per_s'] / rows['train_fp32']['pairs_per_s']:.2f}x, "
              f"predict {rows['predict_bf16']['pairs_per_s'] / rows['predict_fp32']['pairs_per_s']:.2f}x")
    if "train_bf16_ddp2" in rows:
        print(f"2 GPUs (DDP) / 1 GPU, bf16 training: "
              f"{rows['train_bf16_ddp2']['pairs_per_s'] / rows['train_bf16']['pairs_per_s']:.2f}x")
    elif device.type == "cuda":
        print("one GPU: the torchrun measurement needs 2")
    with open(a.out, "w") as f:
        json.dump({"device": name, "torch": torch.__version__, "genes": a.genes, "tfs": a.tfs,
                   "results": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
