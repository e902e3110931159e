"""Training batches: the default (gene batches, cosine head) vs the previous default (sampled pairs).

Same data, same fold, same tower. ``genes`` = ``tfvocab train``'s defaults: every pair among 256
training genes per step (class-balanced BCE), the cosine head, the grammar bag learnt from 0;
``pairs`` = the previous default (:data:`PREVIOUS`): the positives + ``neg_ratio`` sampled
``mixed`` negatives per positive, 4,096 pairs per step, the similarity (MLP) head, the bag's
weights starting at 1. Each
(size, mode) trains fold 0 with :func:`tfvocab.model.training.train_model` in its own process (own
peak RSS; a crash stays contained) until its wall-clock budget or early stopping, and records,
per epoch, the pairs scored, the training-step seconds, the validation seconds and the AUPRC of
the validation universe (every pair among <= 1,500 validation genes). Reported per size:

* **pairs/s**: training pairs scored per second of training-step time (validation excluded);
* **time to target**: target = pairs mode's best validation AUPRC; the training-step seconds
  pairs mode took to reach it and the seconds gene mode took to first reach it (and the
  wall-clock seconds, validation and setup included). If pairs mode never left chance (best
  AUPRC < 2 x the validation prevalence), the ratio is a lower bound (pairs' whole run / gene
  mode's time), printed with ``>=``;
* **peak RSS** of the process (inputs included; ``data MB`` = RSS after the inputs were built);
* the ratios gene / pairs of pairs/s and of time to target.

Sizes:

* ``small``: the ``tfvocab simulate --preset small`` chain (seed 0; simulate -> ... -> ``pairs
  --folds 5``, built once under ``--data`` by bench/grammar.py's ``build_chain``), fold 0;
* ``grammar3k``: ``tfvocab simulate --preset grammar --n-genes 3000 --n-tfs 48`` (the preset's
  12 modules), same chain; gene mode runs uncapped (the full DEFAULT training, early stopping
  included), its wall time is printed against the < 10 min target;
* ``genome``: 27,000 genes x 50 windows x 300 TFs built in memory (:func:`genome_inputs`):
  enrichment-z-like values (N(0, 1) background clipped to [-3, 3], ``--genome-bg-events``
  random peaks per promoter), ``--genome-modules`` modules of 25-45 genes sharing 3 binding
  events (module-specific window and TF, z 5 + Exp(3), each present in a member with p 0.85,
  one window off with p 0.2); positives = 60 % of the within-module pairs + 5 % random pairs
  (~190,000 listed pairs); 5 gene-disjoint folds, validation genes of fold 0 = 15 % of the
  other folds' genes (as ``tfvocab pairs``). Epochs are capped (``--genome-steps``: 1 step of 4,096
  pairs in pairs mode, 20 steps of 256 genes in gene mode) so each mode validates often.

Targets (issue): gene batches >= 50x the pairs/s and >= 10x less time to the same validation
AUPRC at genome size.

    OMP_NUM_THREADS=1 python -P bench/train.py [--sizes small grammar3k genome] [--data DIR] \\
        [--budget-s small=90 grammar3k=240 genome=240] [--threads 2] [--out train.json]

``--budget-s size=S`` caps each mode of a size at S s of wall clock (checked after each epoch;
0 = no cap); grammar3k's gene mode (the full default training) runs until early stopping or
``--default-cap-s`` (600), unless ``--cap-default``. Shrink the run with
smaller budgets, ``--sizes``, or ``--genome-genes``. The default run takes ~20-25 min.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MODES = ("pairs", "genes")
#: the previous default of ``tfvocab train`` (the ``pairs`` mode's options on top of ``batching``)
PREVIOUS = {"pair_features": "similarity", "grammar_init": 1.0, "grammar_gain": 1.0}
SIZES = ("small", "grammar3k", "genome")
BUDGET = {"small": 90.0, "grammar3k": 240.0, "genome": 240.0}
#: genome: max_steps_per_epoch per mode (an epoch = a validation point)
GENOME_STEPS = {"pairs": 1, "genes": 20}
TARGET_PAIRS_S, TARGET_TIME = 50.0, 10.0
CHANCE = 2.0        # pairs mode "left chance" when its best AUPRC >= CHANCE x prevalence


def _grammar_bench():
    spec = importlib.util.spec_from_file_location("bench_grammar", HERE / "grammar.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# ----------------------------------------------------------------------------- inputs
def chain(size: str, data_root: Path) -> dict:
    """The simulated chain of ``small`` / ``grammar3k`` (built once under ``data_root``)."""
    bg = _grammar_bench()
    root = Path(data_root) / size
    if size == "grammar3k" and not (root / "simulate" / "truth" / "roles.tsv").exists():
        from tfvocab.simulate import dataset as simulate

        simulate.run(preset="grammar", seed=0, outdir=root / "simulate", n_genes=3000, n_tfs=48)
    return bg.build_chain(root, seed=0, preset="small" if size == "small" else "grammar")


def chain_inputs(size: str, data_root: Path):
    """(GeneData, pairs DataFrame, FoldSplit) of fold 0 of the chain (continuous values)."""
    bg = _grammar_bench()
    ch = chain(size, data_root)
    data = bg.gene_inputs(ch, ("mean",), "continuous")
    data.base_values = None
    sp = bg.make_split(ch, data, 0)
    return data, sp["pairs"], sp["split"]


def genome_inputs(G: int = 27_000, W: int = 50, T: int = 300, n_modules: int = 500,
                  bg_events: int = 40, seed: int = 0, k: int = 3):
    """(GeneData, pairs DataFrame, FoldSplit) of a genome-size synthetic fold (module docstring).

    Values are filled in place, 512 genes at a time, into one (G, W, T) float32 tensor (the
    only copy: 1.6 GB at the default size)."""
    import pandas as pd
    import torch

    from tfvocab.data import universe as U
    from tfvocab.data.genedata import GeneData
    from tfvocab.data.folds import FoldSplit

    rng = np.random.default_rng([seed, 1])
    sizes = rng.integers(25, 46, n_modules)
    members = rng.permutation(G)[: int(sizes.sum())]
    module = np.full(G, -1, np.int64)
    module[members] = np.repeat(np.arange(n_modules), sizes)
    m_win = rng.integers(2, W - 2, (n_modules, k))
    m_tf = np.stack([rng.choice(T, k, replace=False) for _ in range(n_modules)])
    values = torch.empty((G, W, T), dtype=torch.float32)
    v = values.numpy()
    for g0 in range(0, G, 512):
        n = min(512, G - g0)
        r = np.random.default_rng([seed, 2, g0])
        z = v[g0:g0 + n]
        z[:] = r.standard_normal((n, W, T), dtype=np.float32)
        np.clip(z, -3.0, 3.0, out=z)
        # random peaks (DAP-seq-like background binding), spilling into the neighbouring windows
        gi = np.repeat(np.arange(n), bg_events)
        w = r.integers(0, W, n * bg_events)
        t = r.integers(0, T, n * bg_events)
        h = (4.0 + r.exponential(4.0, n * bg_events)).astype(np.float32)
        # planted module events of this chunk's members
        mod = module[g0:g0 + n]
        mi = np.flatnonzero(mod >= 0)
        gm = np.repeat(mi, k)
        wm = m_win[mod[mi]].ravel() + np.where(r.random(len(gm)) < 0.2, r.choice([-1, 1], len(gm)), 0)
        tm = m_tf[mod[mi]].ravel()
        keep = r.random(len(gm)) < 0.85
        gi = np.concatenate([gi, gm[keep]])
        w = np.concatenate([w, wm[keep]])
        t = np.concatenate([t, tm[keep]])
        h = np.concatenate([h, (5.0 + r.exponential(3.0, int(keep.sum()))).astype(np.float32)])
        np.add.at(z, (gi, w, t), h)
        for dw in (-1, 1):
            ok = (w + dw >= 0) & (w + dw < W)
            np.add.at(z, (gi[ok], w[ok] + dw, t[ok]),
                      h[ok] * r.uniform(0.2, 0.6, int(ok.sum())).astype(np.float32))
    # positives: 60 % of the within-module pairs + 5 % random pairs
    pa, pb = [], []
    for m in range(n_modules):
        g = np.sort(members[module[members] == m])
        a, b = np.triu_indices(len(g), 1)
        sel = rng.random(len(a)) < 0.6
        pa.append(g[a[sel]])
        pb.append(g[b[sel]])
    pa, pb = np.concatenate(pa), np.concatenate(pb)
    n_fp = int(0.05 * len(pa))
    fa, fb = rng.integers(0, G, n_fp), rng.integers(0, G, n_fp)
    ok = fa != fb
    pa = np.concatenate([pa, np.minimum(fa, fb)[ok]])
    pb = np.concatenate([pb, np.maximum(fa, fb)[ok]])
    key = np.unique(U.tri_index(pa, pb, G))
    pa, pb = U.tri_pairs(key, G)
    pa, pb = np.asarray(pa, np.int64), np.asarray(pb, np.int64)
    # folds: test = fold 0; validation genes of fold 0 = 15 % of the other folds' genes
    fold = rng.permutation(np.arange(G) % 5)
    role = np.where(fold == 0, 2, np.where(rng.random(G) < 0.15, 1, 0)).astype(np.int8)
    empty = np.zeros(0, np.int64)
    split = FoldSplit(fold=0, n_folds=5, role=role, pos_a=pa, pos_b=pb, listed_a=pa, listed_b=pb,
                      neg_a=empty, neg_b=empty)
    mask = torch.zeros(G, W, dtype=torch.bool)
    data = GeneData(genes=[f"g{i:05d}" for i in range(G)], window_start=np.arange(W, dtype=np.int64) * 50 - 2000,
                    values=values, mask=mask, value_mask=mask, mode="continuous",
                    tfs=[f"TF{t:03d}" for t in range(T)])
    pairs = pd.DataFrame({"ia": pa, "ib": pb, "label": np.ones(len(pa), np.int64)})
    return data, pairs, split


# ----------------------------------------------------------------------------- one run (child)
class _Budget(Exception):
    """Raised from the epoch log record once the wall-clock budget is spent."""


class _EpochLog(logging.Handler):
    """Collects ``tfvocab.model.training``'s fold and per-epoch log records; raises :class:`_Budget`
    after the epoch that spends the budget."""

    def __init__(self, budget: float):
        super().__init__(logging.INFO)
        self.budget, self.t0 = float(budget), None
        self.rows, self.fold = [], None

    def emit(self, record):
        msg = str(record.msg)
        if msg.startswith("fold %d of %d"):
            a = record.args
            self.fold = {"train_genes": a[2], "train_positives": a[3], "val_genes": a[5],
                         "val_pairs": a[6], "val_positives": a[7]}
        elif msg.startswith("epoch %d: train loss"):
            a = record.args
            wall = time.perf_counter() - self.t0
            self.rows.append({"epoch": a[0], "train_loss": a[1], "val_loss": a[2], "val_auprc": a[3],
                              "val_auroc": a[4], "pairs": a[5], "gene_embeddings": a[6],
                              "fit_s": a[7], "val_s": a[9], "wall_s": wall})
            if self.budget > 0 and wall >= self.budget:
                raise _Budget


def child(size: str, mode: str, a) -> dict:
    import torch

    from tfvocab.model import training

    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    if size == "genome":
        data, pairs, split = genome_inputs(a.genome_genes, 50, a.genome_tfs, a.genome_modules,
                                           a.genome_bg_events, k=a.genome_module_events)
    else:
        data, pairs, split = chain_inputs(size, Path(a.data))
    build_s, data_mb = time.perf_counter() - t0, rss_mb()
    over = {"batching": mode, "device": "cpu", "fold": 0, **(PREVIOUS if mode == "pairs" else {}),
            **(a.genes_set if mode == "genes" else {})}
    if size == "genome":
        over["max_steps_per_epoch"] = a.genome_steps[mode]
        over["epochs"] = a.genome_epochs.get(mode)          # None = train's default
        over["patience"] = a.genome_patience.get(mode)
    params = training.resolve_params(**over)
    params["n_folds"] = split.n_folds
    budget = a.budget[size]
    if size == "grammar3k" and mode == "genes" and not a.cap_default:
        budget = a.default_cap_s
    h = _EpochLog(budget)
    lg = logging.getLogger("tfvocab")
    lg.setLevel(logging.INFO)
    lg.addHandler(h)
    status = "done"
    with tempfile.TemporaryDirectory() as tmp:
        h.t0 = time.perf_counter()
        try:
            training.train_model(data, pairs, params, tmp, write_model=False, split=split)
        except _Budget:
            status = "budget"
        run_s = time.perf_counter() - h.t0
    return {"size": size, "mode": mode, "status": status, "budget_s": budget, "run_s": run_s,
            "build_s": build_s, "data_mb": data_mb,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "genes": len(data.genes), "windows": int(data.mask.shape[1]), "tfs": len(data.tfs),
            "max_steps_per_epoch": params["max_steps_per_epoch"], "threads": a.threads,
            "patience": params["patience"], "max_epochs": params["epochs"],
            "pair_features": params["pair_features"], "grammar_init": params["grammar_init"],
            "fold": h.fold, "epochs": h.rows}


# ----------------------------------------------------------------------------- summary
def summarise(size: str, runs: dict) -> dict:
    """Pairs/s, target, times to target and ratios of one size (``runs``: mode -> child result)."""
    out = {"size": size}
    for mode, r in runs.items():
        ep = r.get("epochs") or []
        fit = np.cumsum([e["fit_s"] for e in ep]) if ep else np.zeros(0)
        r["cum_fit_s"] = fit.tolist()
        r["pairs_per_s"] = (sum(e["pairs"] for e in ep) / fit[-1]) if ep else float("nan")
        r["best_auprc"] = max((e["val_auprc"] for e in ep), default=float("nan"))
        r["prevalence"] = (r["fold"]["val_positives"] / r["fold"]["val_pairs"]) if r.get("fold") else float("nan")
    p, g = runs.get("pairs"), runs.get("genes")
    if not (p and g and p.get("epochs") and g.get("epochs")):
        return out
    target = p["best_auprc"]
    ip = int(np.argmax([e["val_auprc"] for e in p["epochs"]]))
    p["t_target_s"], p["wall_target_s"] = p["cum_fit_s"][ip], p["epochs"][ip]["wall_s"]
    hit = [i for i, e in enumerate(g["epochs"]) if e["val_auprc"] >= target - 1e-9]
    g["t_target_s"] = g["cum_fit_s"][hit[0]] if hit else None
    g["wall_target_s"] = g["epochs"][hit[0]]["wall_s"] if hit else None
    chance = target < CHANCE * p["prevalence"]
    out.update(target_auprc=target, pairs_left_chance=not chance,
               pairs_s_ratio=g["pairs_per_s"] / p["pairs_per_s"])
    if hit:
        num = p["cum_fit_s"][-1] if chance else p["t_target_s"]
        out["time_ratio"] = num / max(g["t_target_s"], 1e-9)
        out["time_ratio_lower_bound"] = bool(chance)
        wnum = p["epochs"][-1]["wall_s"] if chance else p["wall_target_s"]
        out["wall_ratio"] = wnum / max(g["wall_target_s"], 1e-9)
    else:
        out["time_ratio"] = None
    return out


def _f(x, fmt):
    return "-" if x is None or (isinstance(x, float) and not np.isfinite(x)) else format(x, fmt)


def print_table(results: list[dict]) -> None:
    print(f"{'size':10s} {'mode':5s} {'epochs':>6s} {'pairs/s':>9s} {'best AUPRC':>10s} {'prev.':>7s} "
          f"{'t->target s':>11s} {'wall->tgt s':>11s} {'run s':>6s} {'stop':>6s} {'peak MB':>8s} "
          f"{'data MB':>8s}  ratios gene/pairs")
    for s in results:
        for mode in MODES:
            r = s["runs"].get(mode)
            if r is None:
                continue
            if "error" in r:
                print(f"{s['size']:10s} {mode:5s} FAILED: {r['error'][-200:]}")
                continue
            ratios = ""
            if mode == "genes" and "pairs_s_ratio" in s:
                lb = ">=" if s.get("time_ratio_lower_bound") else ""
                tr = ("never reached" if s.get("time_ratio") is None else
                      f"{lb}{s['time_ratio']:.1f}x less time ({lb}{s['wall_ratio']:.1f}x wall)")
                ratios = f"{s['pairs_s_ratio']:.1f}x pairs/s, {tr}"
            tt = r.get("t_target_s")
            print(f"{s['size']:10s} {mode:5s} {len(r['epochs']):6d} {_f(r['pairs_per_s'], '9.0f')} "
                  f"{_f(r['best_auprc'], '10.4f')} {_f(r['prevalence'], '7.4f')} "
                  f"{('never' if mode == 'genes' and tt is None and 'target_auprc' in s else _f(tt, '11.1f')):>11s} "
                  f"{_f(r.get('wall_target_s'), '11.1f')} {r['run_s']:6.0f} {r['status']:>6s} "
                  f"{r['peak_rss_mb']:8.0f} {r['data_mb']:8.0f}  {ratios}")
    for s in results:
        g = s["runs"].get("genes") or {}
        if s["size"] == "grammar3k" and g.get("status") == "done":
            print(f"grammar3k default training (gene batches, early stopping): {len(g['epochs'])} epochs, "
                  f"{g['run_s']:.0f} s wall ({'meets' if g['run_s'] < 600 else 'misses'} the < 10 min target)")
        elif s["size"] == "grammar3k" and g.get("epochs"):
            per = g["run_s"] / len(g["epochs"])
            least = min(int(g.get("patience", 6)) + 1, int(g.get("max_epochs", 30)))
            print(f"grammar3k default training (gene batches): not finished at the {g['budget_s']:.0f} s cap "
                  f"after {len(g['epochs'])} epochs ({per:.0f} s/epoch); the shortest early-stopped run "
                  f"({least} epochs) would take >= {least * per:.0f} s "
                  f"({'meets' if least * per < 600 else 'misses'} the < 10 min target)")
        if s["size"] == "genome" and "pairs_s_ratio" in s:
            tr = s.get("time_ratio")
            print(f"genome targets: pairs/s {s['pairs_s_ratio']:.1f}x (target >= {TARGET_PAIRS_S:.0f}x: "
                  f"{'met' if s['pairs_s_ratio'] >= TARGET_PAIRS_S else 'missed'}); time to pairs' best "
                  f"val AUPRC {s['target_auprc']:.4f}: "
                  + ("gene mode never reached it" if tr is None else
                     f"{'>=' if s.get('time_ratio_lower_bound') else ''}{tr:.1f}x less "
                     f"(target >= {TARGET_TIME:.0f}x: {'met' if tr >= TARGET_TIME else 'missed'})"))


def _value(v: str):
    """A train option's value from the command line: int, float or the string itself."""
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    return v


def _kv(items: list[str], cast, what: str) -> dict:
    out = {}
    for it in items:
        k, _, v = it.partition("=")
        if not v:
            raise SystemExit(f"{what}: expected key=value, got {it!r}")
        out[k] = cast(v)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", nargs="+", default=list(SIZES), choices=SIZES)
    ap.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    ap.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "tfvocab-bench-train"),
                    help="folder of the simulated chains (built if missing)")
    ap.add_argument("--budget-s", nargs="*", default=[], metavar="SIZE=S",
                    help=f"wall-clock cap per mode, per size (default {BUDGET}); 0 = none")
    ap.add_argument("--cap-default", action="store_true",
                    help="cap grammar3k's gene mode by its budget too (default: the full default training)")
    ap.add_argument("--default-cap-s", type=float, default=600.0,
                    help="grammar3k's gene mode (the full default training) stops after the epoch "
                    "that passes this many seconds [600 = the < 10 min target]; 0 = none")
    ap.add_argument("--genome-steps", nargs="*", default=[], metavar="MODE=N",
                    help=f"genome: max_steps_per_epoch per mode (default {GENOME_STEPS})")
    ap.add_argument("--genome-genes", type=int, default=27_000)
    ap.add_argument("--genome-tfs", type=int, default=300)
    ap.add_argument("--genome-modules", type=int, default=500)
    ap.add_argument("--genome-bg-events", type=int, default=40, help="random peaks per promoter")
    ap.add_argument("--genome-module-events", type=int, default=3, help="binding events a module's genes share")
    ap.add_argument("--genome-epochs", nargs="*", default=[], metavar="MODE=N",
                    help="genome: max epochs (validation points) per mode [train's default]; with "
                    "--genome-patience the budget, not early stopping, ends a slow learner's run")
    ap.add_argument("--genome-patience", nargs="*", default=[], metavar="MODE=N",
                    help="genome: early-stopping patience per mode [train's default]")
    ap.add_argument("--genes-set", nargs="*", default=[], metavar="KEY=VALUE",
                    help="train options of gene mode other than the default (e.g. pair_features="
                    "similarity grammar_init=1: what separates the two modes besides batching)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads per run")
    ap.add_argument("--out", default=None, help="JSON file of the results")
    ap.add_argument("--logdir", default=None, help="keep each run's log here")
    ap.add_argument("--child", nargs=2, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    a.budget = {**BUDGET, **_kv(a.budget_s, float, "--budget-s")}
    a.genome_steps = {**GENOME_STEPS, **_kv(a.genome_steps, int, "--genome-steps")}
    a.genome_epochs = _kv(a.genome_epochs, int, "--genome-epochs")
    a.genome_patience = _kv(a.genome_patience, int, "--genome-patience")
    a.genes_set = _kv(a.genes_set, _value, "--genes-set")
    if a.genes_set:                       # train's resolve_params drops unknown overrides silently
        from tfvocab.model import training

        unknown = sorted(set(a.genes_set) - set(training.resolve_params()))
        if unknown:
            raise SystemExit(f"--genes-set: unknown train option(s) {', '.join(unknown)}; "
                             f"use one of {', '.join(sorted(training.resolve_params()))}")
    if a.child:
        res = child(a.child[0], a.child[1], a)
        print("RESULT " + json.dumps(res, default=float))
        return
    results = []
    for size in a.sizes:
        if size != "genome":
            t0 = time.perf_counter()
            chain(size, Path(a.data))                       # built once, outside the timed runs
            print(f"[{size}] chain ready ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
        runs = {}
        for mode in a.modes:
            load = os.getloadavg()[0]
            cmd = [sys.executable, "-P", __file__, "--child", size, mode, "--data", str(a.data),
                   "--threads", str(a.threads), "--genome-genes", str(a.genome_genes),
                   "--genome-tfs", str(a.genome_tfs), "--genome-modules", str(a.genome_modules),
                   "--genome-bg-events", str(a.genome_bg_events),
                   "--genome-module-events", str(a.genome_module_events),
                   "--genome-epochs", *[f"{k}={v}" for k, v in a.genome_epochs.items()],
                   "--genome-patience", *[f"{k}={v}" for k, v in a.genome_patience.items()],
                   "--genes-set", *[f"{k}={v}" for k, v in a.genes_set.items()],
                   "--budget-s", *[f"{k}={v}" for k, v in a.budget.items()],
                   "--genome-steps", *[f"{k}={v}" for k, v in a.genome_steps.items()]]
            if a.cap_default:
                cmd.append("--cap-default")
            cmd += ["--default-cap-s", str(a.default_cap_s)]
            env = {**os.environ, "OMP_NUM_THREADS": str(a.threads),
                   "PYTHONPATH": os.pathsep.join([str(HERE.parent / "src"), os.environ.get("PYTHONPATH", "")])}
            print(f"[{size}/{mode}] running (load {load:.2f})", file=sys.stderr, flush=True)
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if a.logdir:
                Path(a.logdir).mkdir(parents=True, exist_ok=True)
                (Path(a.logdir) / f"{size}_{mode}.log").write_text(proc.stderr)
            line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
            if proc.returncode or not line:
                runs[mode] = {"error": f"exit {proc.returncode}: {proc.stderr[-2000:]}"}
                print(f"[{size}/{mode}] FAILED\n{proc.stderr[-2000:]}", file=sys.stderr)
                continue
            runs[mode] = json.loads(line[-1][7:])
            runs[mode]["load_before"] = load
            runs[mode]["load_after"] = os.getloadavg()[0]
        ok = {m: r for m, r in runs.items() if "error" not in r}
        s = summarise(size, ok)
        s["runs"] = runs
        results.append(s)
        if a.out:
            Path(a.out).write_text(json.dumps(results, indent=1, default=float))
    print_table(results)
    print(f"load average (1, 5, 15 min) at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if a.out:
        Path(a.out).write_text(json.dumps(results, indent=1, default=float))


if __name__ == "__main__":
    main()
