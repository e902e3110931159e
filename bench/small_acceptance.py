"""Acceptance on the `small` simulated preset (held-out genes, gene-disjoint community split).

Runs simulate -> promoters -> extract -> merge -> normalize -> tokenize -> pairs (or reuses
--data DIR laid out as one subfolder per step), trains the transformer with ACCEPTANCE_CONFIG,
evaluates it with the baselines and the oracle (1 if the two genes share a true module), and
trains a control on shuffled train/val labels (evaluated against the real test labels).
Prints test AUPRC of every row and the two acceptance ratios:

    transformer - best baseline >= 0.05,  transformer / oracle >= 0.8,  shuffled ~ positive fraction

    OMP_NUM_THREADS=1 python -P bench/small_acceptance.py --outdir /tmp/acc [--data /tmp/acc]

(-P: bench/ must not shadow stdlib modules such as tokenize.)
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

ACCEPTANCE_CONFIG = {
    "input": "continuous", "pooling": "flatten", "pool_dim": 8, "d_model": 32, "n_layers": 1,
    "n_heads": 2, "head_width": 64, "dropout": 0.1, "batch_size": 1024, "lr": 1e-3, "epochs": 12,
    "patience": 4, "seed": 0,
}


def build_chain(out: Path, seed: int = 0) -> dict[str, Path]:
    """The pipeline's steps on the small preset, one subfolder per step (skips existing outputs)."""
    from tfvocab import extract, merge, normalize, pairs, promoters, simulate, vocabulary

    p = {"sim": out / "simulate", "tokens": out / "tokenize" / "tokens.h5",
         "normalized": out / "normalize" / "normalized.h5", "pairs": out / "pairs" / "pairs.tsv",
         "promoters": out / "promoters" / "promoters.tsv"}
    if not (p["sim"] / "coexpression.tsv").exists():
        simulate.run(preset="small", seed=seed, outdir=p["sim"])
    if not p["promoters"].exists():
        promoters.run(gff=p["sim"] / "annotation.gff3", fasta=p["sim"] / "genome.fa", outdir=out / "promoters")
    if not p["normalized"].exists():
        extract.run(promoters=p["promoters"], bigwig=sorted((p["sim"] / "bigwig").glob("*.bw")), outdir=out / "extract")
        merge.run(signal=sorted((out / "extract").glob("signal.*.h5")), outdir=out / "merge",
                  samplesheet=p["sim"] / "samplesheet.csv")
        normalize.run(signal=out / "merge" / "signal.h5", outdir=out / "normalize")
    if not p["tokens"].exists():
        vocabulary.run(normalized=p["normalized"], outdir=out / "tokenize", seed=seed)
    if not p["pairs"].exists():
        pairs.run(coexpression=p["sim"] / "coexpression.tsv", promoters=p["promoters"], outdir=out / "pairs", seed=seed)
    p["truth"] = p["sim"] / "truth"
    return p


def acceptance(outdir, data=None, config: dict | None = None) -> dict:
    """Run the acceptance; return the figures (test AUPRC per model, oracle, shuffled control)."""
    import torch

    from tfvocab import evaluate, train

    torch.set_num_threads(1)
    outdir = Path(outdir)
    cfg = dict(config or ACCEPTANCE_CONFIG)
    p = build_chain(Path(data) if data else outdir / "chain")
    common = dict(tokens=p["tokens"], normalized=p["normalized"])
    t0 = time.perf_counter()
    m = train.run(pairs=p["pairs"], outdir=outdir / "train", **common, **cfg)
    t_train = time.perf_counter() - t0
    ev = evaluate.run(model=m["model"], pairs=p["pairs"], outdir=outdir / "evaluate", promoters=p["promoters"],
                      truth=p["truth"], **common)
    met = json.loads(Path(ev["metrics"]).read_text())["models"]
    # control: labels shuffled within train and within val; scored against the real test labels
    df = pd.read_csv(p["pairs"], sep="\t")
    rng = np.random.default_rng(cfg.get("seed", 0))
    for split in ("train", "val"):
        sel = (df["split"] == split).to_numpy()
        df.loc[sel, "label"] = rng.permutation(df.loc[sel, "label"].to_numpy())
    shuffled = outdir / "shuffled" / "pairs.tsv"
    shuffled.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(shuffled, sep="\t", index=False)
    ms = train.run(pairs=shuffled, outdir=outdir / "shuffled" / "train", **common, **cfg)
    evs = evaluate.run(model=ms["model"], pairs=p["pairs"], outdir=outdir / "shuffled" / "evaluate", **common)
    met_s = json.loads(Path(evs["metrics"]).read_text())["models"]
    base = {k: v["auprc"] for k, v in met.items() if k not in ("transformer", "oracle")}
    fig = {"transformer": met["transformer"]["auprc"], "baselines": base,
           "best_baseline": max(base.values()), "oracle": met["oracle"]["auprc"],
           "shuffled": met_s["transformer"]["auprc"], "pos_fraction": met["transformer"]["pos_fraction"],
           "train_seconds": round(t_train, 1), "config": cfg}
    return fig


def main():
    ap = argparse.ArgumentParser(description="small-preset acceptance figures")
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--data", default=None, help="folder with the chain's step subfolders (built if missing)")
    a = ap.parse_args()
    fig = acceptance(a.outdir, a.data)
    print(f"test AUPRC (held-out genes), positive fraction {fig['pos_fraction']:.3f}")
    print(f"  transformer      {fig['transformer']:.3f}   (training {fig['train_seconds']} s, CPU 1 thread)")
    for k, v in fig["baselines"].items():
        print(f"  {k:16s} {v:.3f}")
    print(f"  oracle           {fig['oracle']:.3f}")
    print(f"  shuffled labels  {fig['shuffled']:.3f}")
    print(f"transformer - best baseline = {fig['transformer'] - fig['best_baseline']:+.3f} (target >= +0.05)")
    print(f"transformer / oracle        = {fig['transformer'] / fig['oracle']:.2f} (target >= 0.80)")
    print(f"shuffled - positive frac    = {fig['shuffled'] - fig['pos_fraction']:+.3f} (target ~ 0)")


if __name__ == "__main__":
    main()
