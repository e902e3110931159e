"""Acceptance on the `small` simulated preset (held-out genes, the standard `--split gene`).

Runs simulate -> promoters -> extract -> merge -> normalize -> tokenize -> pairs (one subfolder per
step under the output folder; a step whose output exists is skipped, ``--sim DIR`` reuses a
simulate folder), trains the transformer with the `tfvocab train` defaults (``ACCEPTANCE_CONFIG``
overrides none of them, so `tfvocab demo --preset small` trains the same model), evaluates it next to the
baselines (cosine of mean TF profiles, logistic regression on symmetric profile-pair features,
bag-of-tokens) and the oracle (1 if the two genes share a true module of the simulator's truth),
then trains the same model on shuffled train/val labels and scores it against the real test
labels (the chance control). Prints every test AUPRC and the three acceptance figures:

    transformer - best baseline >= 0.05,  transformer / oracle >= 0.8,  |shuffled - positive fraction| < 0.1

    OMP_NUM_THREADS=1 python -P bench/small_acceptance.py --outdir /tmp/acc [--seeds 0 1 2] [--split community]

``--seeds``: the whole chain (simulation, tokenizer, split, negatives, training) is re-run per seed.
``--split community`` is the stricter "unseen programs" split (whole co-expression communities held
out); the acceptance targets are for ``gene`` (new genes of known programs), community figures are
printed for information.
(-P: bench/ must not shadow stdlib modules such as tokenize.)
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

#: overrides of the `tfvocab train` defaults for the acceptance: none, so the figures are those of
#: the model `tfvocab demo --preset small` trains (the resolved configuration is in the figures).
ACCEPTANCE_CONFIG: dict = {}
MARGIN, RATIO, CHANCE_TOL = 0.05, 0.8, 0.1


def build_chain(out: Path, seed: int = 0, sim: Path | None = None, split: str = "gene") -> dict[str, Path]:
    """The pipeline's data steps on the small preset (``tfvocab.demo.data_steps``), one subfolder
    per step under ``out``; reused when ``out`` already holds them for the same ``split``.

    ``sim``: an existing ``tfvocab simulate --preset small`` folder (read only) instead of
    ``out/simulate``.
    """
    from tfvocab import simulate
    from tfvocab.demo import data_steps

    sim = Path(sim) if sim else out / "simulate"
    if not (sim / "coexpression.tsv").exists():
        simulate.run(preset="small", seed=seed, outdir=sim)
    made = out / "pairs" / "pairs.tsv.json"
    if made.exists() and json.loads(made.read_text())["params"].get("split") == split \
            and (out / "tokenize" / "tokens.h5").exists():
        return {"promoters": out / "promoters" / "promoters.tsv", "signal": out / "merge" / "signal.h5",
                "normalized": out / "normalize" / "normalized.h5", "tokens": out / "tokenize" / "tokens.h5",
                "pairs": out / "pairs" / "pairs.tsv", "truth": sim / "truth"}
    return data_steps(sim, out, seed=seed, split=split)


def shuffle_labels(pairs_tsv: Path, out_tsv: Path, seed: int) -> Path:
    """Copy of ``pairs.tsv`` with labels permuted within train and within val (test untouched)."""
    df = pd.read_csv(pairs_tsv, sep="\t")
    rng = np.random.default_rng(seed)
    for split in ("train", "val"):
        sel = (df["split"] == split).to_numpy()
        df.loc[sel, "label"] = rng.permutation(df.loc[sel, "label"].to_numpy())
    out_tsv.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(out_tsv, sep="\t", index=False)
    return out_tsv


def acceptance(outdir, data=None, config: dict | None = None, seed: int = 0, sim=None,
               split: str = "gene", control: bool = True, chain: dict | None = None) -> dict:
    """Run the acceptance; return the figures: test AUPRC of the transformer, each baseline, the
    oracle and the shuffled-label control, the positive fraction, margin and ratio.

    ``chain``: the data steps' files already built (``tfvocab.demo.data_steps``), else built under
    ``data`` (default ``outdir/chain``)."""
    import torch

    from tfvocab import evaluate, train

    torch.set_num_threads(1)
    outdir = Path(outdir)
    cfg = {**(ACCEPTANCE_CONFIG if config is None else config), "seed": seed}
    p = chain or build_chain(Path(data) if data else outdir / "chain", seed=seed, sim=sim, split=split)
    common = dict(tokens=p["tokens"], normalized=p["normalized"])
    t0 = time.perf_counter()
    m = train.run(pairs=p["pairs"], outdir=outdir / "train", **common, **cfg)
    t_train = time.perf_counter() - t0
    ev = evaluate.run(model=m["model"], pairs=p["pairs"], outdir=outdir / "evaluate", promoters=p["promoters"],
                      truth=p["truth"], **common)
    met = json.loads(Path(ev["metrics"]).read_text())["models"]
    base = {k: v["auprc"] for k, v in met.items() if k not in ("transformer", "oracle")}
    best = max(base, key=base.get)
    fig = {"seed": seed, "split": split, "transformer": met["transformer"]["auprc"],
           "transformer_auroc": met["transformer"]["auroc"], "baselines": base, "best_baseline_name": best,
           "best_baseline": base[best], "oracle": met["oracle"]["auprc"],
           "pos_fraction": met["transformer"]["pos_fraction"], "n_test": met["transformer"]["n"],
           "n_test_pos": met["transformer"]["n_pos"], "train_seconds": round(t_train, 1),
           "best_epoch": int(torch.load(m["model"], map_location="cpu", weights_only=False)["best_epoch"]),
           "config": {k: v for k, v in train.resolve_params(**cfg).items() if k != "device"}}
    fig["margin"] = fig["transformer"] - fig["best_baseline"]
    fig["ratio"] = fig["transformer"] / fig["oracle"]
    if control:
        shuffled = shuffle_labels(p["pairs"], outdir / "shuffled" / "pairs.tsv", seed)
        ms = train.run(pairs=shuffled, outdir=outdir / "shuffled" / "train", **common, **cfg)
        evs = evaluate.run(model=ms["model"], pairs=p["pairs"], outdir=outdir / "shuffled" / "evaluate", **common)
        fig["shuffled"] = json.loads(Path(evs["metrics"]).read_text())["models"]["transformer"]["auprc"]
    return fig


def passes(fig: dict) -> bool:
    """All three acceptance criteria (the slow test in tests/test_evaluate.py asserts the same)."""
    return (fig["margin"] >= MARGIN and fig["ratio"] >= RATIO
            and abs(fig.get("shuffled", fig["pos_fraction"]) - fig["pos_fraction"]) < CHANCE_TOL)


def print_figures(fig: dict) -> None:
    print(f"seed {fig['seed']}, --split {fig['split']}: test AUPRC on held-out genes "
          f"({fig['n_test']} pairs, {fig['n_test_pos']} positive, positive fraction {fig['pos_fraction']:.3f})")
    print(f"  transformer      {fig['transformer']:.3f}   (AUROC {fig['transformer_auroc']:.3f}; training "
          f"{fig['train_seconds']} s on 1 CPU thread, best epoch {fig['best_epoch']})")
    for k, v in sorted(fig["baselines"].items(), key=lambda kv: -kv[1]):
        print(f"  {k:16s} {v:.3f}")
    print(f"  oracle           {fig['oracle']:.3f}   (1 if both genes share a true module)")
    if "shuffled" in fig:
        print(f"  shuffled labels  {fig['shuffled']:.3f}   (transformer trained on permuted train/val labels)")
    print(f"  transformer - best baseline ({fig['best_baseline_name']}) = {fig['margin']:+.3f}  (target >= +{MARGIN})")
    print(f"  transformer / oracle = {fig['ratio']:.3f}  (target >= {RATIO})")
    if "shuffled" in fig:
        print(f"  shuffled - positive fraction = {fig['shuffled'] - fig['pos_fraction']:+.3f}  "
              f"(target |.| < {CHANCE_TOL})")
    print(f"  -> {'PASS' if passes(fig) else 'FAIL'}")


def main():
    ap = argparse.ArgumentParser(description="small-preset acceptance figures")
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--data", default=None, help="folder with the chain's step subfolders (built if "
                    "missing; with several seeds, one subfolder seed<N> each)")
    ap.add_argument("--sim", default=None, help="existing simulate folder to reuse (single seed)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds of the whole chain [0]")
    ap.add_argument("--split", default="gene", choices=["gene", "community"], help="pairs --split [gene]")
    ap.add_argument("--no-control", action="store_true", help="skip the shuffled-label control")
    a = ap.parse_args()
    figs = []
    for s in a.seeds:
        sub = Path(a.outdir) / f"seed{s}"
        data = None if a.data is None else (Path(a.data) if len(a.seeds) == 1 else Path(a.data) / f"seed{s}")
        fig = acceptance(sub, data, seed=s, sim=a.sim, split=a.split, control=not a.no_control)
        print_figures(fig)
        figs.append(fig)
    if len(figs) > 1:
        print("seed  transformer  best_baseline  oracle  margin  ratio  shuffled  pos_frac")
        for f in figs:
            print(f"{f['seed']:4d}  {f['transformer']:11.3f}  {f['best_baseline']:13.3f}  {f['oracle']:6.3f}  "
                  f"{f['margin']:+6.3f}  {f['ratio']:5.3f}  {f.get('shuffled', float('nan')):8.3f}  {f['pos_fraction']:8.3f}")
        print(f"min margin {min(f['margin'] for f in figs):+.3f}, min ratio {min(f['ratio'] for f in figs):.3f}, "
              f"all pass: {all(passes(f) for f in figs)}")
    Path(a.outdir).mkdir(parents=True, exist_ok=True)
    (Path(a.outdir) / "figures.json").write_text(json.dumps(figs, indent=1))


if __name__ == "__main__":
    main()
