#!/usr/bin/env python3
"""The honest evaluation on the `small` preset (or ``--preset grammar``): K folds, every pair among held-out genes, intervals,
the verdict (issue: "Honest evaluation"); and the universe evaluation at scale.

Acceptance (default)::

    OMP_NUM_THREADS=1 python -P bench/evaluation.py --outdir /tmp/bench_eval [--data DIR] [--seeds 0]
    OMP_NUM_THREADS=1 python -P bench/evaluation.py --outdir /tmp/bench_null --setting independent --seeds 0 1 2 3 4

runs, per seed, the data chain (``tfvocab simulate --preset small`` (``--preset``) with the ``--setting``'s
overrides -> promoters -> ... -> ``pairs --folds K``; reused from ``--data``), then for every fold
``tfvocab train --fold k`` with the defaults (and, unless ``--no-control``, the same model with
``--shuffle-labels``), ``tfvocab evaluate`` (truth and the control model) and ``tfvocab
summarize``. It prints the universe AUPRC / AUROC (with the prevalence) of the transformer and
every baseline as fold means with 95 % intervals, the same against the planted truth, the
difference transformer - best baseline, the verdict, the controls and the round-1 style sampled
pairs (secondary). Settings: ``default`` (the preset), ``noisy`` (label noise: 20 % of the list
false, 50 % of true pairs withheld, 20 % of module genes unlisted), ``independent`` (list gene IDs
permuted: labels carry no track signal; the verdict must read "not distinguishable").

Scale (``--scale``)::

    OMP_NUM_THREADS=1 python -P bench/evaluation.py --outdir /tmp/bench_eval_scale --scale [--genes 10000 --tfs 300]

writes ``normalized.h5`` / ``tokens.h5`` of ``--genes`` genes x 50 windows x ``--tfs`` TFs, a listed-pair
table at ATTED-II-like density (1 M pairs among 27,000 genes), ``tfvocab pairs``-style
``genes.tsv`` with 2 folds (5,000 test genes: 12.5 M pairs) and an untrained default model, then
times ``tfvocab evaluate`` in a child process (wall, peak RSS via ``wait4``, the log's stage times)
with ``--threads`` threads. Peer in the same run: ``tfvocab predict`` all-vs-all (top-50) of the
same 5,000 genes, which scores the same pairs with the same model (the ratio is the price of the
metrics and the baselines).
(-P: bench/ must not shadow stdlib modules such as tokenize.)
"""
from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse
import json
import subprocess
import time
from pathlib import Path

import numpy as np

SETTINGS = {
    "default": {},
    "noisy": {"false_pos": 0.2, "withheld": 0.5, "unlisted_frac": 0.2},
    "independent": {"labels_independent": True},
}


# --------------------------------------------------------------------------- acceptance
def build_chain(out: Path, seed: int = 0, setting: str = "default", folds: int = 5,
                preset: str = "small") -> dict[str, Path]:
    """simulate (``preset`` + the setting's overrides) and the data steps under ``out``, once."""
    from tfvocab.data import pairs
    from tfvocab.simulate import dataset as simulate
    from tfvocab.demo import data_steps

    sim = out / "simulate"
    if not (sim / "coexpression.tsv").exists():
        simulate.run(preset=preset, seed=seed, outdir=sim, **SETTINGS[setting])
    if (out / "tokenize" / "tokens.h5").exists():
        chain = {"promoters": out / "promoters" / "promoters.tsv", "normalized": out / "normalize" / "normalized.h5",
                 "tokens": out / "tokenize" / "tokens.h5", "pairs": out / "pairs" / "pairs.tsv", "truth": sim / "truth"}
    else:
        chain = data_steps(sim, out, seed=seed)
    made = out / "pairs" / "genes.tsv.json"
    if not made.exists() or int(json.loads(made.read_text())["params"]["folds"]) != folds:
        pairs.run(sim / "coexpression.tsv", chain["promoters"], out / "pairs", folds=folds, seed=seed)
    chain["genes"] = out / "pairs" / "genes.tsv"
    return chain


def run_folds(chain: dict, outdir, *, seed: int = 0, folds=None, control: bool = True,
              control_folds=None, train_options: dict | None = None, n_boot: int = 200) -> dict:
    """Train and evaluate every fold (+ shuffled-label controls), then summarize.

    Returns ``{"summary": summary.json, "metrics": [metrics.json per fold], "seconds": {...}}``.
    ``control_folds``: folds that get a shuffled-label control (default: all)."""
    import pandas as pd
    import torch

    from tfvocab.evaluation import evaluate, summarize
    from tfvocab.model import train

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    outdir = Path(outdir)
    K = int(pd.read_csv(chain["genes"], sep="\t")["fold"].max()) + 1
    folds = list(range(K)) if folds is None else list(folds)
    control_folds = folds if control_folds is None else list(control_folds)
    opts = {"seed": seed, **(train_options or {})}
    common = dict(tokens=chain["tokens"], normalized=chain["normalized"], pairs=chain["pairs"])
    seconds = {"train": 0.0, "control": 0.0, "evaluate": 0.0}
    paths = []
    for k in folds:
        t0 = time.perf_counter()
        m = train.run(outdir=outdir / f"fold{k}" / "train", fold=k, **common, **opts)
        seconds["train"] += time.perf_counter() - t0
        c = None
        if control and k in control_folds:
            t0 = time.perf_counter()
            c = train.run(outdir=outdir / f"fold{k}" / "control", fold=k, shuffle_labels=True, **common, **opts)["model"]
            seconds["control"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        ev = evaluate.run(model=m["model"], outdir=outdir / f"fold{k}" / "evaluate", promoters=chain["promoters"],
                          truth=chain["truth"], control_model=c, seed=seed, n_boot=n_boot, **common)
        seconds["evaluate"] += time.perf_counter() - t0
        paths.append(ev["metrics"])
    s = summarize.run(paths, outdir / "summarize", seed=seed)
    return {"summary": json.loads(Path(s["summary"]).read_text()),
            "metrics": [json.loads(Path(p).read_text()) for p in paths],
            "seconds": {k: round(v, 1) for k, v in seconds.items()},
            "config": {k: v for k, v in train.resolve_params(**opts).items() if k != "device"}}


def _ci(v: dict, fmt: str = "{:.3f}") -> str:
    lo, hi = v["ci"]
    f = (lambda x: "nan" if x is None or not np.isfinite(x) else fmt.format(x))
    return f"{f(v['mean'])} [{f(lo)}, {f(hi)}]"


def print_result(res: dict, title: str) -> None:
    s = res["summary"]
    models = s["models"]
    truth = s.get("truth", {})
    names = sorted(models, key=lambda n: -(models[n]["auprc"]["mean"] or 0))
    prev = models["transformer"]["prevalence"]["mean"]
    print(f"\n== {title}: {s['n_folds']} folds, {s['n_pos']} held-out positives in all")
    print(f"universe = every pair among a fold's held-out genes; fold means [95% CI]; prevalence {prev:.4f}")
    print(f"{'model':20s} {'AUPRC':24s} {'AUROC':24s} {'AUPRC/prev':>10s} {'pAUROC1%':>9s} {'P@100':>6s} | "
          f"{'truth AUPRC':24s} {'truth AUROC':24s}")
    for n in names:
        m, t = models[n], truth.get(n)
        print(f"{n:20s} {_ci(m['auprc']):24s} {_ci(m['auroc']):24s} {m['auprc_over_prevalence']['mean']:10.1f} "
              f"{m['pauroc_fpr01']['mean']:9.3f} {m['precision_at_100']['mean']:6.3f} | "
              f"{(_ci(t['auprc']) if t else '-'):24s} {(_ci(t['auroc']) if t else '-'):24s}")
    for key in ("difference", "difference_auroc"):
        if key in s:
            d = s[key]
            print(f"transformer - {d['against']}: Δ{d['metric'].upper()} = {d['mean']:+.3f} "
                  f"[{d['ci'][0]:+.3f}, {d['ci'][1]:+.3f}]  per fold {', '.join(f'{x:+.3f}' for x in d['per_fold'])}")
    print(f"verdict: {s['verdict']}  ({s['verdict_kind']})")
    c = s.get("control", {})
    if "shuffled_label" in c:
        sh = c["shuffled_label"]
        print(f"control, shuffled labels: AUPRC {sh['auprc_mean']:.4f} [{sh['auprc_ci'][0]:.4f}, {sh['auprc_ci'][1]:.4f}] "
              f"vs prevalence {sh['prevalence']:.4f}: within the CI: {sh['prevalence_within_ci']}")
    if "permutation" in c:
        p = c["permutation"]
        print(f"control, permutation null of the transformer: AUPRC {p['auprc_mean']:.4f}; p-values per fold "
              f"{', '.join(f'{x:.3f}' for x in p['p_value_auprc_per_fold'])}")
    print("secondary, sampled pairs (positives + 3 degree-matched negatives each, the round-1 way), fold means:")
    sm = {}
    for f in res["metrics"]:
        for n, m in f["sampled"]["models"].items():
            sm.setdefault(n, []).append(m["auprc"])
    print("   " + ", ".join(f"{n} {np.mean(v):.3f}" for n, v in sorted(sm.items(), key=lambda kv: -np.mean(kv[1]))))
    print("per fold: fold  test genes  positives  transformer  best baseline  Δ")
    for f in res["metrics"]:
        u = f["universe"]
        b = s.get("best_baseline")
        print(f"          {f['fold']:4d}  {u['transformer']['n_genes']:10d}  {u['transformer']['n_pos']:9d}  "
              f"{u['transformer']['auprc']:11.3f}  {u[b]['auprc']:13.3f}  {u['transformer']['auprc'] - u[b]['auprc']:+.3f}")
    c = res["config"]
    how = (f"gene batches of {c.get('batch_genes')}" if c.get("batching", "pairs") == "genes" else
           f"sampled pairs ({c['negatives']} negatives, neg_ratio {c['neg_ratio']}, batch {c['batch_size']})")
    print(f"seconds: {res['seconds']}; training configuration: {how}, {c.get('pair_features')} head, "
          f"grammar_init {c.get('grammar_init')}, epochs {c['epochs']}")


# --------------------------------------------------------------------------- scale
def make_scale_inputs(workdir: Path, G: int, T: int, seed: int = 0) -> dict[str, str]:
    """normalized.h5 / tokens.h5 (G x 50 x T, through tfvocab.formats), promoters.tsv, pairs.tsv
    at ATTED-II density (1 M pairs among 27,000 genes), genes.tsv with 2 folds, an untrained
    default model.pt (written once)."""
    import pandas as pd
    import torch

    from tfvocab import formats
    from tfvocab.data.genedata import load_gene_data
    from tfvocab.io import provenance
    from tfvocab.model.model import ModelConfig, SiameseTransformer
    from tfvocab.model.train import TRAIN_DEFAULTS, save_model

    W = 50
    d = workdir / f"g{G}_t{T}"
    d.mkdir(parents=True, exist_ok=True)
    p = {k: d / n for k, n in (("normalized", "normalized.h5"), ("tokens", "tokens.h5"), ("pairs", "pairs.tsv"),
                               ("genes", "genes.tsv"), ("model", "model.pt"), ("test_genes", "test_genes.txt"),
                               ("promoters", "promoters.tsv"))}
    genes = [f"AT{1 + i // 9000}G{i % 9000:05d}0" for i in range(G)]
    tfs = [f"TF{i:03d}" for i in range(T)]
    geometry = formats.Geometry(upstream=2000, downstream=50 * W - 2001)
    prov = provenance("bench_evaluation", {"genes": G, "tfs": T, "seed": seed})
    rng = np.random.default_rng(seed)
    prom = pd.DataFrame({"gene_id": genes, "chrom": "Chr1", "start": 3000 * np.arange(G),
                         "end": 3000 * np.arange(G) + 2501, "strand": "+", "start_codon": 3000 * np.arange(G) + 2000,
                         "transcript_id": [g + ".1" for g in genes], "gc": 0.35, "clipped": False})
    lineage = {"promoters": formats.promoters_digest(prom)}
    if not (p["normalized"].exists() and p["tokens"].exists()):
        formats.write_promoters(p["promoters"], prom, prov, upstream=2000, downstream=500)
        K = 64
        tok = np.empty((G, W), np.int32)
        stats = {"tfs": tfs, "arrays": {"mean": np.zeros(T), "std": np.ones(T)}, "attrs": {"synthetic": True}}
        with formats.NormalizedWriter(p["normalized"], genes=genes, tfs=tfs, geometry=geometry, stats=stats,
                                      lineage=lineage, prov=prov) as w:
            for s in range(0, G, 256):
                n = min(256, G - s)
                x = rng.standard_normal((n, W, T), dtype=np.float32)
                m = np.repeat((rng.random((n, W)) < 0.02)[:, :, None], T, axis=2)
                x[m] = np.nan
                w.write(s, x, m)
                tok[s:s + n] = np.where(m[:, :, 0], 0, rng.integers(2, K, (n, W)))
        with formats.NormalizedFile(p["normalized"]) as nf:
            norm_id, stats_id = nf.artifact_id, nf.stats_digest
        codebook = np.random.default_rng(1).standard_normal((K, T)).astype(np.float32)
        formats.write_tokens(p["tokens"], genes=genes, tfs=tfs, geometry=geometry, tokens=tok, codebook=codebook,
                             arrays={"center": np.zeros(T), "scale": np.ones(T), "bound": np.ones(T)},
                             attrs={"mask_token": 0, "null_token": 1, "null_threshold": 1.0, "top_score": 0.5},
                             lineage={**lineage, "normalized": norm_id, "stats": stats_id}, prov=prov)
    if not p["pairs"].exists():
        n_pairs = int(round(1_000_000 * G * (G - 1) / (27_000 * 26_999)))
        a = rng.integers(0, G, 2 * n_pairs)
        b = rng.integers(0, G, 2 * n_pairs)
        ok = a != b
        lo, hi = np.minimum(a[ok], b[ok]), np.maximum(a[ok], b[ok])
        key = np.unique(lo.astype(np.int64) * G + hi)[:n_pairs]
        g = np.array(genes, dtype=object)
        formats.write_pairs(p["pairs"], pd.DataFrame({"gene_a": g[key // G], "gene_b": g[key % G], "label": 1,
                                                      "source": "positive", "split": "cross"}), prov, lineage)
        fold = rng.permutation(np.arange(G) % 2)
        val = np.where((fold == 1) & (rng.random(G) < 0.15), 0, -1)
        formats.write_genes(p["genes"], pd.DataFrame({"gene_id": genes, "chrom": "Chr1", "fold": fold,
                                                      "val_fold": val, "degree": 0}), prov, lineage)
        (p["test_genes"]).write_text("\n".join(np.array(genes)[fold == 0]) + "\n")
    if not p["model"].exists():
        data = load_gene_data(p["tokens"], p["normalized"], "continuous", stream=True)
        torch.manual_seed(0)
        model = SiameseTransformer(ModelConfig(input="continuous", n_tfs=T, n_windows=W)).eval()
        save_model(p["model"], model, {**TRAIN_DEFAULTS, "fold": 0, "n_folds": 2}, data, 0, 0.0,
                   fold=0, n_folds=2)
        data.values.reader.close()
    return {k: str(v) for k, v in p.items()}


def _child(cmd: list[str], threads: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(Path(_HERE).parent / "src")}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read()
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out[-3000:]}")
    return {"wall_s": round(wall, 1), "peak_rss_mb": round(ru.ru_maxrss / 1024.0), "log": out}


def scale(args) -> None:
    work = Path(args.outdir)
    p = make_scale_inputs(work, args.genes, args.tfs)
    n_test = sum(1 for _ in open(p["test_genes"]))
    print(f"scale: {args.genes} genes x 50 windows x {args.tfs} TFs, fold 0 = {n_test} test genes "
          f"({n_test * (n_test - 1) // 2:,} pairs); {args.threads} thread(s)")
    ev = _child([sys.executable, "-m", "tfvocab.cli", "evaluate", "--model", p["model"], "--tokens", p["tokens"],
                 "--normalized", p["normalized"], "--pairs", p["pairs"], "--genes", p["genes"],
                 "--outdir", str(work / "evaluate")], args.threads)
    m = json.loads((work / "evaluate" / "metrics.json").read_text())
    stages = [ln.split("] ", 1)[1] for ln in ev["log"].splitlines() if ": done in" in ln]
    print(f"tfvocab evaluate: wall {ev['wall_s']} s, peak RSS {ev['peak_rss_mb']} MB "
          f"({len(m['universe'])} models x {m['universe']['transformer']['n_pairs']:,} pairs)")
    for s in stages:
        print("   ", s)
    pr = _child([sys.executable, "-m", "tfvocab.cli", "predict", "--model", p["model"], "--tokens", p["tokens"],
                 "--normalized", p["normalized"], "--genes", p["test_genes"], "--top-k", "50",
                 "--outdir", str(work / "predict")], args.threads)
    print(f"peer tfvocab predict (all-vs-all top-50 of the same genes, network included): wall {pr['wall_s']} s, "
          f"peak RSS {pr['peak_rss_mb']} MB; evaluate / predict = {ev['wall_s'] / pr['wall_s']:.2f}x")
    (work / "scale.json").write_text(json.dumps({"evaluate": {k: v for k, v in ev.items() if k != "log"},
                                                 "predict": {k: v for k, v in pr.items() if k != "log"},
                                                 "stages": stages}, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--data", default=None, help="chain folder (one subfolder per step; built if missing; "
                    "with several seeds, seed<N> under it)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--setting", choices=sorted(SETTINGS), default="default")
    ap.add_argument("--preset", choices=("small", "grammar"), default="small",
                    help="simulation preset (grammar: ordered TF pairs and decoys, bench/grammar.py)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--only-folds", type=int, nargs="+", default=None, help="train/evaluate these folds only")
    ap.add_argument("--no-control", action="store_true", help="skip the shuffled-label models")
    ap.add_argument("--train", default="{}", help="JSON overrides of the train defaults (e.g. '{\"epochs\": 10}')")
    ap.add_argument("--scale", action="store_true", help="time the universe evaluation at scale instead")
    ap.add_argument("--genes", type=int, default=10_000)
    ap.add_argument("--tfs", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    if a.scale:
        return scale(a)
    out = Path(a.outdir)
    verdicts = []
    for s in a.seeds:
        data = Path(a.data) / (f"seed{s}" if len(a.seeds) > 1 else "") if a.data else out / f"seed{s}" / "chain"
        chain = build_chain(data, seed=s, setting=a.setting, folds=a.folds, preset=a.preset)
        res = run_folds(chain, out / f"seed{s}", seed=s, control=not a.no_control, folds=a.only_folds,
                        train_options=json.loads(a.train))
        print_result(res, f"{a.preset} preset, setting {a.setting}, seed {s}")
        verdicts.append(res["summary"]["verdict_kind"])
    if len(a.seeds) > 1:
        print(f"\nverdicts over seeds {a.seeds}: {verdicts}")


if __name__ == "__main__":
    main()
