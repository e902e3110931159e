"""The vocabulary's k-means vs sklearn MiniBatchKMeans on the same windows (genome-scale question).

Builds (once, under ``--data``) a simulated chain with 300 TFs (``simulate --preset small --n-tfs 300
--n-genes 4000``, promoters, extract, merge, normalize), takes the windows ``tfvocab tokenize`` fits
its vocabulary on - a seeded sample of at most 100,000 bound, fully observed windows, as binding
vectors (:func:`tfvocab.vocabulary.fit_vocabulary_chunks` over :func:`tfvocab.tokens.window_chunks`) - and clusters them into K = 512 with

* ``tfvocab.vocabulary.kmeans`` (k-means++ seeding on a subsample, Lloyd iterations, torch);
* ``sklearn.cluster.MiniBatchKMeans`` (k-means++ on its init sample, mini-batches of
  ``--batch`` windows), same K, same seed;

and prints wall time, iterations and the inertia (sum of squared distances of all fitted windows
to their nearest centroid, computed the same way for both) and the ratio. 1 CPU thread.

    OMP_NUM_THREADS=1 python -P bench/kmeans.py --data /tmp/kmeans
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def fit_windows(normalized_h5: Path, max_fit_windows: int = 100_000, seed: int = 0) -> np.ndarray:
    """The (n, T) float32 binding vectors ``tfvocab tokenize`` would run k-means on."""
    from tfvocab import formats, tokens
    from tfvocab import vocabulary as vb

    captured = {}
    real = vb.kmeans

    def grab(X, k, **kw):                  # record the k-means input, skip the clustering
        captured["X"] = np.array(X, np.float32)
        return np.zeros((k, X.shape[1]), np.float32), np.zeros(len(X), np.int64)

    vb.kmeans = grab
    try:
        with formats.NormalizedFile(normalized_h5) as nf:
            calib = vb.input_calibration((nf.stats or {}).get("attrs", {}), nf.geometry.stride)
            vb.fit_vocabulary_chunks(lambda: tokens.window_chunks(nf, "fit"), nf.tfs,
                                     vocab_size=512, seed=seed, max_fit_windows=max_fit_windows,
                                     n_windows=nf.shape[1], **calib)
    finally:
        vb.kmeans = real
    return captured["X"]


def inertia(X: np.ndarray, C: np.ndarray) -> float:
    """Sum over rows of X of the squared distance to the nearest centroid (float64)."""
    from tfvocab.vocabulary import nearest

    lab = nearest(X, C)
    return float(((X.astype(np.float64) - C[lab].astype(np.float64)) ** 2).sum())


def main():
    ap = argparse.ArgumentParser(description="vocabulary k-means vs MiniBatchKMeans")
    ap.add_argument("--data", required=True)
    ap.add_argument("--k", type=int, default=512)
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    import torch
    from sklearn.cluster import MiniBatchKMeans

    from tfvocab import extract, merge, normalize, promoters, simulate
    from tfvocab.samplesheet import read_samplesheet, tracks
    from tfvocab.vocabulary import kmeans

    torch.set_num_threads(1)
    root = Path(a.data)
    sim = root / "simulate"
    if not (sim / "samplesheet.csv").exists():
        simulate.run(preset="small", seed=a.seed, outdir=sim, n_tfs=300, n_genes=4000)
    prom = root / "promoters" / "promoters.tsv"
    if not prom.exists():
        promoters.run(gff=sim / "annotation.gff3", fasta=sim / "genome.fa", outdir=root / "promoters")
    if not (root / "merge" / "signal.h5").exists():
        for name, path, _kind in tracks(read_samplesheet(sim / "samplesheet.csv")):
            extract.run(promoters=prom, bigwig=[path], tf=[name], outdir=root / "extract")
        merge.run(signal=sorted((root / "extract").glob("signal.*.h5")), outdir=root / "merge",
                  samplesheet=sim / "samplesheet.csv")
    norm = root / "normalize" / "normalized.h5"
    if not norm.exists():
        normalize.run(signal=root / "merge" / "signal.h5", outdir=root / "normalize")
    X = fit_windows(norm, seed=a.seed)
    print(f"{X.shape[0]} bound windows x {X.shape[1]} TFs (binding vectors), K = {a.k}, 1 thread")
    res = {}
    import logging

    class Count(logging.Handler):          # the iteration count kmeans logs on convergence
        def emit(self, record):
            msg = record.getMessage()
            if "converged after" in msg:
                res["kmeans_iterations"] = int(msg.split("after ")[1].split()[0])

    logging.getLogger("tfvocab.vocabulary").addHandler(Count())
    logging.getLogger("tfvocab.vocabulary").setLevel(logging.INFO)
    t0 = time.perf_counter()
    C, _ = kmeans(X, a.k, seed=a.seed)
    res["kmeans"] = {"seconds": time.perf_counter() - t0, "inertia": inertia(X, C),
                     "iterations": res.pop("kmeans_iterations", 100)}
    t0 = time.perf_counter()
    mb = MiniBatchKMeans(n_clusters=a.k, batch_size=a.batch, random_state=a.seed, n_init=1,
                         init="k-means++", max_no_improvement=20).fit(X)
    res["minibatch"] = {"seconds": time.perf_counter() - t0, "iterations": int(mb.n_iter_),
                        "inertia": inertia(X, mb.cluster_centers_.astype(np.float32))}
    for k, r in res.items():
        print(f"{k:10s} {r['seconds']:8.1f} s   {r['iterations']:4d} iterations   inertia {r['inertia']:.6g}")
    print(f"MiniBatchKMeans / k-means: inertia {res['minibatch']['inertia'] / res['kmeans']['inertia']:.4f}, "
          f"time {res['minibatch']['seconds'] / res['kmeans']['seconds']:.3f}")
    (root / "kmeans.json").write_text(json.dumps({"n": int(X.shape[0]), "tfs": int(X.shape[1]),
                                                  "k": a.k, **res}, indent=1))


if __name__ == "__main__":
    main()
