"""Bound windows against the planted truth: precision and recall of the vocabulary's calls.

On a simulated dataset (``tfvocab simulate``; every binding site is in ``truth/sites.tsv``) the
pipeline's normalize + tokenize steps are run twice on the same ``signal.h5``:

* ``enrichment`` (the default): background-model enrichment z-scores, calls at p < 0.05 / T
  on the peak summit (``tfvocab.data.vocabulary`` docstring);
* ``logz`` (this code's non-default transform): depth / control / log / z-score values, calls
  at ``auto_null_threshold`` robust SDs above each TF's median, no summit rule;
* with ``--baseline-rev REV`` also the normalize + tokenize of an earlier commit (``git archive
  REV src``, run in a child process; its tokens.h5 is read with today's
  :func:`tfvocab.formats.read_tokens`, so REV must write the current format): before/after in the
  same run;

and every call is checked against the planted sites (:func:`tfvocab.simulate.grammar.call_accuracy`):

* window precision: bound windows in which every called TF has a planted site of that TF within
  60 bp of the window; window recall: windows holding a planted site (its centre) that are bound;
* call precision / recall: the same per (window, TF).

Targets (issue): window precision >= 0.8, window recall >= 0.95 (``tests/test_vocabulary.py``
asserts them on the small preset).

    OMP_NUM_THREADS=1 python -P bench/binding.py --data /tmp/binding --preset small --seed 0
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

PRECISION, RECALL = 0.8, 0.95
REACH = 60


def truth_windows(sim: Path, promoters_tsv: Path, normalized_h5: Path, reach: int = REACH):
    """``holding``, ``near`` (G, W, T) of the planted sites on ``normalized_h5``'s windows."""
    from tfvocab import formats
    from tfvocab.simulate.grammar import site_windows

    with formats.NormalizedFile(normalized_h5) as nf:
        genes, tfs, ws = nf.genes, nf.tfs, nf.window_start
        width = int(nf.geometry.window)
    sites = pd.read_csv(Path(sim) / "truth" / "sites.tsv", sep="\t", keep_default_na=False,
                        na_values=[""])
    return site_windows(sites, formats.read_promoters(promoters_tsv), genes, ws, width, tfs, reach)


def vocabulary_calls(normalized_h5: Path, tokens_h5: Path) -> np.ndarray:
    """Per-TF calls (G, W, T) of the tokenizer that wrote ``tokens_h5`` on ``normalized_h5``."""
    import dataclasses

    from tfvocab import formats
    from tfvocab.data import vocabulary as vb

    vocab = vb.vocabulary_from_tokens(formats.read_tokens(tokens_h5), str(tokens_h5))
    with formats.NormalizedFile(normalized_h5) as nf:
        G, W, T = nf.shape
        X, M = nf.block(0, G)
    vocab = dataclasses.replace(vb.align_vocabulary(vocab, list(nf.tfs)), n_windows=W)
    X = X.reshape(-1, T)
    return vb.vocab_calls(X, M.reshape(-1, T).astype(bool) | np.isnan(X), vocab).reshape(G, W, T)


def baseline_steps(rev: str, signal_h5: Path, outdir: Path, seed: int = 0) -> tuple[Path, Path]:
    """normalize + tokenize (their defaults) of commit ``rev`` on ``signal_h5``, in a child
    process on ``git archive rev src``; returns (normalized.h5, tokens.h5)."""
    import subprocess
    import sys
    import tarfile
    import io

    src = outdir / f"src_{rev}"
    if not src.exists():
        blob = subprocess.run(["git", "archive", rev, "src"], check=True, capture_output=True,
                              cwd=Path(__file__).resolve().parent.parent).stdout
        tarfile.open(fileobj=io.BytesIO(blob)).extractall(src)
    # the tokenize step is tfvocab.data.tokens.run today, tfvocab.data.vocabulary.run in older commits
    code = ("import sys; from tfvocab import normalize\n"
            "try:\n    from tfvocab.data.tokens import run as tokenize\n"
            "except ImportError:\n    from tfvocab.data.vocabulary import run as tokenize\n"
            "n = normalize.run(sys.argv[1], sys.argv[2] + '/normalize')['normalized']\n"
            "tokenize(n, sys.argv[2] + '/tokenize', seed=int(sys.argv[3]))")
    env = {"PYTHONPATH": str(src / "src"), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", code, str(signal_h5), str(outdir), str(seed)],
                   check=True, env=env, capture_output=True)
    return outdir / "normalize" / "normalized.h5", outdir / "tokenize" / "tokens.h5"


def measure(sim: Path, workdir: Path, seed: int = 0, vocab_size: int | None = None,
            baseline_rev: str | None = None) -> dict:
    """Run promoters -> extract -> merge on ``sim`` (``tfvocab.demo.data_steps`` layout), then
    normalize + tokenize with each transform; returns {transform: call_accuracy + seconds}."""
    from tfvocab.data import normalize, tokens
    from tfvocab.demo import data_steps
    from tfvocab.simulate.grammar import call_accuracy

    workdir = Path(workdir)
    chain = workdir / "chain"
    if not (chain / "tokenize" / "tokens.h5").exists():
        data_steps(sim, chain, seed=seed, vocab_size=vocab_size)
    out = {}
    holding = near = None
    for transform in ("enrichment", "logz"):
        d = workdir / transform
        t0 = time.perf_counter()
        norm = normalize.run(chain / "merge" / "signal.h5", d / "normalize", transform=transform)["normalized"]
        t1 = time.perf_counter()
        kw = {} if vocab_size is None else {"vocab_size": vocab_size}
        tok = tokens.run(norm, d / "tokenize", seed=seed, **kw)["tokens"]
        t2 = time.perf_counter()
        if holding is None:
            holding, near = truth_windows(sim, chain / "promoters" / "promoters.tsv", norm)
        on = vocabulary_calls(norm, tok)
        out[transform] = {**call_accuracy(on, holding, near),
                          "normalize_seconds": round(t1 - t0, 2), "tokenize_seconds": round(t2 - t1, 2)}
        tab = pd.read_csv(d / "tokenize" / "vocabulary.tsv", sep="\t", keep_default_na=False)
        clus = tab[tab.kind == "cluster"]
        out[transform]["tokens_used"] = int((clus["count"] > 0).sum())
        out[transform]["mean_top_tfs_called"] = float(
            np.average(pd.to_numeric(clus.top_tfs_called, errors="coerce").fillna(0),
                       weights=np.maximum(clus["count"], 1e-12)))
    if baseline_rev:
        t0 = time.perf_counter()
        norm, tok = baseline_steps(baseline_rev, chain / "merge" / "signal.h5",
                                   workdir / f"rev_{baseline_rev}", seed)
        on = vocabulary_calls(norm, tok)
        out[f"rev {baseline_rev}"] = {**call_accuracy(on, holding, near),
                                      "seconds": round(time.perf_counter() - t0, 2),
                                      "tokens_used": -1, "mean_top_tfs_called": float("nan")}
    return out


def main():
    ap = argparse.ArgumentParser(description="bound-window precision/recall on simulated data")
    ap.add_argument("--data", required=True, help="work folder (simulation and chain reused)")
    ap.add_argument("--preset", default="small")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-tfs", type=int, default=None)
    ap.add_argument("--baseline-rev", default=None, help="also measure this commit's normalize + tokenize")
    a = ap.parse_args()
    from tfvocab.simulate import dataset as simulate

    root = Path(a.data)
    sim = root / "simulate"
    if not (sim / "truth" / "sites.tsv").exists():
        simulate.run(preset=a.preset, seed=a.seed, outdir=sim, n_tfs=a.n_tfs)
    res = measure(sim, root, a.seed, baseline_rev=a.baseline_rev)
    print(f"preset {a.preset}, seed {a.seed}: planted sites vs the vocabulary's calls "
          f"(site within {REACH} bp of the window = correct)")
    print("transform    bound  win.prec  win.rec  call.prec  call.rec  calls/win  tokens  top-TFs-called")
    for k, r in res.items():
        print(f"{k:11s} {r['bound_frac']:6.3f}  {r['window_precision']:8.3f}  {r['window_recall']:7.3f}  "
              f"{r['call_precision']:9.3f}  {r['call_recall']:8.3f}  {r['calls_per_window']:9.3f}  "
              f"{r['tokens_used']:6d}  {r['mean_top_tfs_called']:14.3f}")
    e = res["enrichment"]
    ok = e["window_precision"] >= PRECISION and e["window_recall"] >= RECALL
    print(f"targets: window precision >= {PRECISION}, recall >= {RECALL} -> {'PASS' if ok else 'FAIL'} "
          f"(windows holding a site: {e['holding_frac']:.3f})")
    (root / "binding.json").write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
