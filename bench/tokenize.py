#!/usr/bin/env python
"""Benchmark: the TF vocabulary's k-means against scikit-learn's KMeans on the same windows.

Data: a synthetic, realistically sparse window-vector array generated directly (no pipeline):
``genes x windows`` windows x ``tfs`` TFs in normalised (z-score-like) units, float32 - at the
default genome size 27,000 x 50 = 1.35 M windows x 300 TFs (1.6 GB). ~70 % of windows are
unbound background N(-0.3, 0.3); the rest carry 1-3 TFs of one of 300 planted combinations
(+3..+10) plus noise; 0.5 % of windows are fully missing.

1. **tokenize as the CLI runs it**: :func:`tfvocab.data.vocabulary.fit_vocabulary_chunks` (background,
   a seeded subsample of at most ``--max-fit-windows`` bound windows, k-means) then
   :func:`tfvocab.data.vocabulary.assign` over all windows in chunks of 256 genes.
2. **k-means on the same input**: the bound windows tokenize fits on (the same subsample), K =
   ``--vocab-size``, the same thread count, each method from the same seed:
   * ``tfvocab.data.vocabulary.kmeans`` - what tokenize uses (scikit-learn ``MiniBatchKMeans``);
   * the peer: scikit-learn ``KMeans`` (full batch Lloyd, k-means++, ``n_init=1``, to
     convergence or ``--peer-max-iter``);
   * tfvocab's previous k-means (k-means++ on a 10,240-window sample + torch Lloyd iterations),
     kept verbatim below as :func:`previous_kmeans`.
   Each row: wall time, peak working memory, inertia (sum of squared distances of the windows to
   their nearest centroid, computed by one function for all), ratios to the peer.

Peak memory: peak process RSS above the RSS at the start of each phase (sampled every 20 ms).

Usage: ``python -P bench/tokenize.py [--quick] [--threads 2]``.
"""
from __future__ import annotations

import os
import sys

# this file is named like the stdlib module `tokenize` (used by linecache/inspect): keep its own
# folder off sys.path so `import tokenize` elsewhere gets the stdlib one.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
sys.modules.pop("tokenize", None) if getattr(sys.modules.get("tokenize"), "__file__", "").startswith(_HERE) else None  # noqa: E501

import argparse  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
    """Context manager: peak RSS above the starting RSS, sampled every ``interval`` s."""

    def __init__(self, interval: float = 0.02):
        self.interval = interval
        self.peak = 0

    def __enter__(self):
        self.base = rss_bytes()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._poll, daemon=True)
        self._t.start()
        self.t0 = time.perf_counter()
        return self

    def _poll(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes() - self.base)
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, rss_bytes() - self.base)


def make_windows(n: int, T: int, seed: int, n_combos: int = 300):
    """Synthetic normalised window vectors: (X float32 (n, T), M bool (n, T), true combo (n,))."""
    import numpy as np

    rng = np.random.default_rng(seed)
    combos = [rng.choice(T, size=rng.integers(1, 4), replace=False) for _ in range(n_combos)]
    X = np.empty((n, T), np.float32)
    truth = np.full(n, -1, np.int32)
    step = 100_000
    for s in range(0, n, step):
        e = min(n, s + step)
        x = rng.standard_normal((e - s, T), dtype=np.float32)
        x *= 0.3
        x -= 0.3
        bound = rng.random(e - s) < 0.3
        which = rng.integers(0, n_combos, e - s)
        for i in np.flatnonzero(bound):
            c = combos[which[i]]
            x[i, c] += rng.uniform(3, 10, len(c)).astype(np.float32)
        truth[s:e][bound] = which[bound]
        X[s:e] = x
    M = np.zeros((n, T), bool)
    M[rng.random(n) < 0.005] = True
    X[M] = np.nan
    return X, M, truth


def previous_kmeans(X, k: int, seed: int = 0, max_iter: int = 100, tol: float = 1e-4):
    """tfvocab's k-means before MiniBatchKMeans (k-means++ on a subsample, torch Lloyd)."""
    import numpy as np
    import torch
    from sklearn.cluster import kmeans_plusplus

    from tfvocab.data.vocabulary import nearest

    X = np.ascontiguousarray(X, dtype=np.float32)
    n = len(X)
    k = min(k, n)
    rng = np.random.default_rng(seed)
    init_n = min(n, max(20 * k, 10000))
    init_idx = np.sort(rng.choice(n, size=init_n, replace=False)) if init_n < n else np.arange(n)
    C, _ = kmeans_plusplus(X[init_idx], k, random_state=int(rng.integers(2**31 - 1)))
    C = C.astype(np.float32)
    Xd = torch.from_numpy(X).double()
    thresh = tol * float(X.var(axis=0).mean())
    labels = nearest(X, C)
    it = 0
    for it in range(max_iter):
        lab = torch.from_numpy(labels)
        sums = torch.zeros((k, X.shape[1]), dtype=torch.float64).index_add_(0, lab, Xd)
        counts = np.bincount(labels, minlength=k)
        newC = (sums.numpy() / np.maximum(counts, 1)[:, None]).astype(np.float32)
        empty = np.flatnonzero(counts == 0)
        if len(empty):
            dist = ((X - newC[labels]) ** 2).sum(1)
            newC[empty] = X[np.argsort(-dist, kind="stable")[:len(empty)]]
        shift = float(((newC - C) ** 2).sum())
        C = newC
        labels = nearest(X, C)
        if shift <= thresh and not len(empty):
            break
    return C, it + 1


def inertia(X, C) -> float:
    """Sum over windows of the squared distance to the nearest centroid (float64)."""
    import numpy as np

    from tfvocab.data.vocabulary import nearest

    lab = nearest(X, C)
    tot = 0.0
    for s in range(0, len(X), 20_000):
        d = X[s:s + 20_000].astype(np.float64) - C[lab[s:s + 20_000]]
        tot += float((d * d).sum())
    return tot


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: 2,000 genes x 60 TFs, K=64")
    ap.add_argument("--genes", type=int, default=27_000)
    ap.add_argument("--windows", type=int, default=50)
    ap.add_argument("--tfs", type=int, default=300)
    ap.add_argument("--vocab-size", type=int, default=512)
    ap.add_argument("--max-fit-windows", type=int, default=100_000)
    ap.add_argument("--peer-max-iter", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    if a.quick:
        a.genes, a.tfs, a.vocab_size, a.max_fit_windows = 2_000, 60, 64, 20_000

    os.environ["OMP_NUM_THREADS"] = str(a.threads)
    import numpy as np
    import torch
    from threadpoolctl import threadpool_limits

    from sklearn.cluster import KMeans

    from tfvocab.data import vocabulary as vb
    from tfvocab.log import setup_logging

    setup_logging(0)

    torch.set_num_threads(a.threads)
    N, T, K = a.genes * a.windows, a.tfs, a.vocab_size
    print(f"# bench/tokenize.py: {a.genes} genes x {a.windows} windows = {N:,} windows x {T} TFs "
          f"(float32 {N * T * 4 / 2**30:.2f} GiB), K={K}, threads={a.threads}, seed={a.seed}, "
          f"load average {os.getloadavg()[0]:.2f}")
    t0 = time.perf_counter()
    X, M, truth = make_windows(N, T, a.seed)
    print(f"data generated in {time.perf_counter() - t0:.1f} s; "
          f"{(truth >= 0).mean():.1%} bound windows")
    tfs = [f"tf{i}" for i in range(T)]
    chunk = 256 * a.windows

    def chunks():
        for s in range(0, N, chunk):
            yield X[s:s + chunk], M[s:s + chunk]

    with threadpool_limits(a.threads):
        with PeakRSS() as fit:
            vocab = vb.fit_vocabulary_chunks(chunks, tfs, vocab_size=K, seed=a.seed,
                                             max_fit_windows=a.max_fit_windows)
        with PeakRSS() as asg:
            tokens = np.concatenate([vb.assign(x, m, vocab) for x, m in chunks()])
        print(f"\n1. tokenize: fit {fit.seconds:.1f} s (+{fit.peak / 2**20:.0f} MiB), assign "
              f"{N:,} windows {asg.seconds:.1f} s (+{asg.peak / 2**20:.0f} MiB), total "
              f"{fit.seconds + asg.seconds:.1f} s")

        # the windows tokenize fits k-means on: bound, fully observed, a seeded subsample
        on = vb.calls(X, M, vocab.center, vocab.scale, vocab.null_threshold)
        cand = np.flatnonzero(on.any(1) & ~M.any(1))
        rng = np.random.default_rng(a.seed)
        sel = np.sort(rng.choice(cand, size=min(len(cand), a.max_fit_windows), replace=False))
        S = np.ascontiguousarray(X[sel])
        k = min(K, len(S))
        rows = []
        with PeakRSS() as r:
            C, _ = vb.kmeans(S, k, seed=a.seed)
        rows.append(("tfvocab.data.vocabulary.kmeans (MiniBatchKMeans)", r.seconds, r.peak, inertia(S, C), "-"))
        with PeakRSS() as r:
            km = KMeans(n_clusters=k, n_init=1, max_iter=a.peer_max_iter, random_state=a.seed,
                        algorithm="lloyd").fit(S)
        rows.append(("peer: sklearn KMeans (full batch)", r.seconds, r.peak,
                     inertia(S, km.cluster_centers_.astype(np.float32)), f"{km.n_iter_} it"))
        with PeakRSS() as r:
            C0, it0 = previous_kmeans(S, k, seed=a.seed)
        rows.append(("tfvocab previous k-means (torch Lloyd)", r.seconds, r.peak, inertia(S, C0),
                     f"{it0} it"))

    print(f"\n2. k-means on the same {len(S):,} bound windows x {T} TFs, K = {k}:")
    peer_t, peer_i = rows[1][1], rows[1][3]
    print(f"{'method':46s} {'seconds':>8s} {'peak MiB':>9s} {'inertia':>12s} {'time/peer':>10s} "
          f"{'inertia/peer':>13s}  iterations")
    for name, sec, mem, ine, how in rows:
        print(f"{name:46s} {sec:8.1f} {mem / 2**20:9.0f} {ine:12.5g} {sec / peer_t:10.2f} "
              f"{ine / peer_i:13.4f}  {how}")
    bound = (truth >= 0) & ~M.all(1)
    tok_b, tr = tokens[bound], truth[bound]
    purity = 0.0
    if len(tok_b):  # fraction of bound windows whose token's majority combination is theirs
        u, c = np.unique(tok_b.astype(np.int64) * 1_000_000 + tr, return_counts=True)
        best = {}
        for p_, c_ in zip(u, c):
            best[p_ // 1_000_000] = max(best.get(p_ // 1_000_000, 0), c_)
        purity = sum(best.values()) / len(tok_b)
    print(f"\ntokens: {vocab.n_tokens} ({(tokens == vb.NULL_TOKEN).mean():.1%} unbound, "
          f"{(tokens == vb.MASK_TOKEN).mean():.2%} missing); token purity vs planted "
          f"combination over bound windows: {purity:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
