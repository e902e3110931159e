#!/usr/bin/env python3
"""Which negatives to train on, decided by the universe metric (every pair among held-out genes).

    OMP_NUM_THREADS=1 python -P bench/negatives.py --outdir /tmp/bench_neg [--data DIR] [--folds 0 1 2]
        [--settings default noisy] [--schemes uniform degree universe mixed nnpu]

For each simulator setting (``default``: the `small` preset, whose list names only module genes
and 5 % false pairs, so most genes are unlisted; ``noisy``: 20 % of the list false, half of the
true pairs withheld and 20 % of the module genes never listed), the data chain is built once
(``bench/evaluation.py``'s ``build_chain``, 5 folds), then for every scheme and fold the default
model is trained with ``tfvocab train --fold k --negatives <scheme>`` (``nnpu``: universe
negatives with the non-negative PU risk, prior = the training universe's listed prevalence) and
scored on its fold's universe (``tfvocab.evaluation.evaluate.evaluate_fold`` without baselines: exact
AUPRC/AUROC against the listed labels and against the planted truth, gene-bootstrap replicates).
Prints, per setting and scheme, fold means with two-level 95 % intervals
(``tfvocab.evaluation.summarize``), the paired difference of every scheme to the best one, and seconds.
"""
from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse
import importlib.util
import json
import time
from pathlib import Path

import numpy as np

SCHEMES = {"uniform": {"negatives": "uniform"}, "degree": {"negatives": "degree"},
           "universe": {"negatives": "universe"}, "mixed": {"negatives": "mixed"},
           "nnpu": {"negatives": "universe", "loss": "nnpu"}}


def _evaluation_module():
    spec = importlib.util.spec_from_file_location("bench_evaluation", Path(_HERE) / "evaluation.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _load(path, data, load_model):
    """The fold model at ``path`` (a model.pt of this version, or of the pre-formats layout)."""
    import torch

    from tfvocab.errors import TfvocabError
    from tfvocab.model.model import ModelConfig, SiameseTransformer

    try:
        return load_model(path, data)
    except TfvocabError:
        obj = torch.load(path, map_location="cpu", weights_only=False)
        net = SiameseTransformer(ModelConfig.from_dict(obj["config"]))
        net.load_state_dict(obj["state_dict"])
        return net.eval(), obj


def compare(chain: dict, outdir: Path, schemes, folds, seed: int = 0, train_options: dict | None = None,
            reuse: bool = False) -> dict:
    """Train every (scheme, fold) (``reuse``: keep a model an earlier run trained); returns
    ``{"folds": {scheme: [fold result dicts]}, "seconds": {scheme: training seconds}}``."""
    import pandas as pd
    import torch

    from tfvocab.evaluation import evaluate
    from tfvocab.model import train
    from tfvocab.data.genedata import load_gene_data, read_pairs
    from tfvocab.data.folds import fold_split, read_genes_table
    from tfvocab.model.inference import load_model

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    data = load_gene_data(chain["tokens"], chain["normalized"], "both")
    df = read_pairs(chain["pairs"], data.index)
    table = read_genes_table(chain["genes"])
    truth = evaluate.truth_pairs(chain["truth"])
    out, seconds = {}, {}
    for name in schemes:
        out[name], seconds[name] = [], 0.0
        for k in folds:
            t0 = time.perf_counter()
            model = outdir / name / f"fold{k}" / "model.pt"
            if reuse and model.exists():           # a model of an earlier run of this bench
                net, obj = _load(model, data, load_model)
                seconds[name] += float(pd.read_csv(model.with_name("train_log.tsv"), sep="\t")["seconds"].sum())
            else:
                m = train.run(tokens=chain["tokens"], normalized=chain["normalized"], pairs=chain["pairs"],
                              outdir=outdir / name / f"fold{k}", fold=k, seed=seed,
                              **{**(train_options or {}), **SCHEMES[name]})
                seconds[name] += time.perf_counter() - t0
                net, obj = load_model(m["model"], data)
            split = fold_split(df, data.index, table, k)
            r = evaluate.evaluate_fold(data, split, net, obj["config"]["input"], truth=truth, seed=seed,
                                       n_boot=100, n_perm=1, baselines=False)
            r.pop("_top")
            r["best_epoch"] = obj["best_epoch"]
            out[name].append(r)
            print(f"  {name:9s} fold {k}: universe AUPRC {r['universe']['transformer']['auprc']:.3f} "
                  f"AUROC {r['universe']['transformer']['auroc']:.3f} | truth AUPRC "
                  f"{r['truth_universe']['transformer']['auprc']:.3f} (best epoch {obj['best_epoch']}, "
                  f"{time.perf_counter() - t0:.0f} s)", flush=True)
    return {"folds": out, "seconds": seconds}


def report(res: dict, title: str) -> dict:
    from tfvocab.evaluation import summarize as S

    rows = {}
    for name, folds in res["folds"].items():
        fake = [{"fold": f["fold"], "n_folds": f["n_folds"], "universe": {name: f["universe"]["transformer"]},
                 "truth_universe": {name: f["truth_universe"]["transformer"]},
                 "bootstrap": {m: {name: f["bootstrap"][m]["transformer"]} for m in ("auprc", "auroc")},
                 "bootstrap_truth": {m: {name: f["bootstrap_truth"][m]["transformer"]} for m in ("auprc", "auroc")}}
                for f in folds]
        rows[name] = {"listed": S.summarize_models(fake)[name], "truth": S.summarize_models(fake, "truth_universe",
                                                                                            "bootstrap_truth")[name],
                      "reps": [np.asarray(f["bootstrap"]["auprc"]["transformer"], dtype=float) for f in folds],
                      "per_fold": [f["universe"]["transformer"]["auprc"] for f in folds]}
    best = max(rows, key=lambda n: rows[n]["listed"]["auprc"]["mean"])
    print(f"\n== {title}: transformer trained with each scheme; fold means [95% CI]")
    print(f"{'negatives':10s} {'universe AUPRC':24s} {'universe AUROC':24s} {'pAUROC1%':>8s} | "
          f"{'truth AUPRC':24s} {'truth AUROC':24s} | ΔAUPRC vs {best} [95% CI]      train s")
    f = (lambda v: f"{v['mean']:.3f} [{v['ci'][0]:.3f}, {v['ci'][1]:.3f}]")
    for name, r in sorted(rows.items(), key=lambda kv: -kv[1]["listed"]["auprc"]["mean"]):
        d = np.mean(r["per_fold"]) - np.mean(rows[best]["per_fold"])
        ci = S.hierarchical_mean_ci([a - b for a, b in zip(r["reps"], rows[best]["reps"])])
        print(f"{name:10s} {f(r['listed']['auprc']):24s} {f(r['listed']['auroc']):24s} "
              f"{r['listed']['pauroc_fpr01']['mean']:8.3f} | {f(r['truth']['auprc']):24s} {f(r['truth']['auroc']):24s} | "
              f"{d:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}]   {res['seconds'][name]:.0f}")
    return {n: {"listed": r["listed"], "truth": r["truth"]} for n, r in rows.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--data", default=None, help="folder of the chains (one subfolder per setting)")
    ap.add_argument("--settings", nargs="+", default=["default", "noisy"])
    ap.add_argument("--schemes", nargs="+", default=list(SCHEMES), choices=list(SCHEMES))
    ap.add_argument("--folds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train", default="{}", help="JSON overrides of the train defaults")
    ap.add_argument("--reuse", action="store_true", help="evaluate the models an earlier run left in --outdir")
    a = ap.parse_args()
    ev = _evaluation_module()
    out = Path(a.outdir)
    summary = {}
    for setting in a.settings:
        data = Path(a.data) / setting if a.data else out / setting / "chain"
        chain = ev.build_chain(data, seed=a.seed, setting=setting)
        print(f"\nsetting {setting} ({ev.SETTINGS[setting] or 'the small preset'}), folds {a.folds}")
        res = compare(chain, out / setting, a.schemes, a.folds, a.seed, json.loads(a.train), a.reuse)
        summary[setting] = report(res, f"setting {setting}")
    (out / "negatives.json").write_text(json.dumps(summary, indent=1, default=float))


if __name__ == "__main__":
    main()
