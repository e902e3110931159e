#!/usr/bin/env python
"""Benchmark: fit + assign the TF vocabulary at genome scale vs plain sklearn KMeans.

Data: a synthetic, realistically sparse window-vector array generated directly (no pipeline):
``genes x windows`` windows x ``tfs`` TFs in normalised (z-score-like) units, float32 — at the
default genome size 27,000 x 50 = 1.35 M windows x 300 TFs (1.6 GB). ~70 % of windows are
unbound background N(-0.3, 0.3); the rest carry 1-3 TFs of one of 300 planted combinations
(+3..+10) plus noise; 0.5 % of windows are fully missing.

Measured in the same run, same data, same K, same thread count:

* **tfvocab**: :func:`tfvocab.vocabulary.fit_vocabulary_chunks` (background + seeded subsample
  of bound windows + torch Lloyd k-means) then :func:`tfvocab.vocabulary.assign` over all
  windows in chunks of 12,800 (256 genes) — exactly what ``tfvocab tokenize`` does.
* **peer: sklearn KMeans** (full batch, ``n_init=1``, k-means++, ``max_iter=--peer-max-iter``)
  on all windows. Full batch over 1.35 M x 300 with K=512 takes hours here, so unless
  ``--peer-windows`` covers all windows it is *timed on a uniform subsample* and the time and
  memory are **extrapolated linearly in the number of windows** (k-means++ and each Lloyd
  iteration are O(N K T)); those rows are labelled ``EXTRAPOLATED``.

Peak memory: peak process RSS above the RSS at the start of each phase (sampled every 20 ms;
covers numpy and torch buffers), i.e. the working memory on top of the input array.

Usage: ``python bench/tokenize.py [--quick] [--threads 1]``.
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: 2,000 genes x 60 TFs, K=64")
    ap.add_argument("--genes", type=int, default=27_000)
    ap.add_argument("--windows", type=int, default=50)
    ap.add_argument("--tfs", type=int, default=300)
    ap.add_argument("--vocab-size", type=int, default=512)
    ap.add_argument("--max-fit-windows", type=int, default=100_000)
    ap.add_argument("--peer-windows", type=int, default=50_000,
                    help="windows the sklearn peer is timed on (extrapolated to all if fewer)")
    ap.add_argument("--peer-max-iter", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    if a.quick:
        a.genes, a.tfs, a.vocab_size, a.max_fit_windows = 2_000, 60, 64, 20_000
        a.peer_windows = a.genes * a.windows

    os.environ["OMP_NUM_THREADS"] = str(a.threads)
    import numpy as np
    import torch
    from threadpoolctl import threadpool_limits

    from sklearn.cluster import KMeans

    from tfvocab import vocabulary as vb
    from tfvocab.log import setup_logging

    setup_logging(0)

    torch.set_num_threads(a.threads)
    N, T, K = a.genes * a.windows, a.tfs, a.vocab_size
    print(f"# bench/tokenize.py: {a.genes} genes x {a.windows} windows = {N:,} windows x {T} TFs "
          f"(float32 {N * T * 4 / 2**30:.2f} GiB), K={K}, threads={a.threads}, seed={a.seed}")
    t0 = time.perf_counter()
    X, M, truth = make_windows(N, T, a.seed)
    print(f"data generated in {time.perf_counter() - t0:.1f} s; "
          f"{(truth >= 0).mean():.1%} bound windows")
    tfs = [f"tf{i}" for i in range(T)]
    chunk = 256 * a.windows

    def chunks():
        for s in range(0, N, chunk):
            yield X[s:s + chunk], M[s:s + chunk]

    rows = []
    with threadpool_limits(a.threads):
        with PeakRSS() as fit:
            vocab = vb.fit_vocabulary_chunks(chunks, tfs, vocab_size=K, seed=a.seed,
                                             max_fit_windows=a.max_fit_windows)
        with PeakRSS() as asg:
            tokens = np.concatenate([vb.assign(x, m, vocab) for x, m in chunks()])
        ours = fit.seconds + asg.seconds
        rows.append(("tfvocab fit (subsample + torch Lloyd)", fit.seconds, fit.peak, "measured"))
        rows.append(("tfvocab assign (all windows, chunked)", asg.seconds, asg.peak, "measured"))
        rows.append(("tfvocab total", ours, max(fit.peak, asg.peak), "measured"))

        n_p = min(N, a.peer_windows)
        rng = np.random.default_rng(a.seed + 1)
        idx = np.sort(rng.choice(N, size=n_p, replace=False)) if n_p < N else np.arange(N)
        Xp = np.nan_to_num(X[idx])      # sklearn cannot take NaN: missing -> 0 (z-score mean)
        with PeakRSS() as peer:
            km = KMeans(n_clusters=min(K, n_p), n_init=1, max_iter=a.peer_max_iter,
                        random_state=a.seed, algorithm="lloyd").fit(Xp)
            km.predict(Xp)
        factor = N / n_p
        label = "measured" if n_p == N else f"EXTRAPOLATED x{factor:.1f} from {n_p:,} windows"
        if n_p < N:
            rows.append((f"sklearn KMeans full batch ({km.n_iter_} it) on {n_p:,} windows",
                         peer.seconds, peer.peak, "measured"))
        peer_t, peer_m = peer.seconds * factor, peer.peak * factor
        rows.append((f"sklearn KMeans full batch ({km.n_iter_} it) on all {N:,} windows",
                     peer_t, peer_m, label))

    print(f"\n{'step':58s} {'seconds':>9s} {'peak MiB':>9s}  how")
    for name, sec, mem, how in rows:
        print(f"{name:58s} {sec:9.1f} {mem / 2**20:9.0f}  {how}")
    bound = truth >= 0
    tok_b = tokens[bound & ~M.all(1)]
    purity = 0.0
    if len(tok_b):  # fraction of bound windows whose token's majority combination is theirs
        tr = truth[bound & ~M.all(1)]
        pairs = tok_b.astype(np.int64) * 1_000_000 + tr
        u, c = np.unique(pairs, return_counts=True)
        best = {}
        for p_, c_ in zip(u, c):
            best[p_ // 1_000_000] = max(best.get(p_ // 1_000_000, 0), c_)
        purity = sum(best.values()) / len(tok_b)
    print(f"\ntokens: {vocab.n_tokens} ({(tokens == vb.NULL_TOKEN).mean():.1%} unbound, "
          f"{(tokens == vb.MASK_TOKEN).mean():.2%} missing); token purity vs planted "
          f"combination over bound windows: {purity:.3f}")
    print(f"ratio peer/tfvocab time: {peer_t / ours:.1f}x ({label}); "
          f"peer iterations capped at {a.peer_max_iter} (tfvocab runs to convergence, "
          f"<= 100 iterations)")
    print(f"ratio peer/tfvocab peak working memory: {peer_m / max(fit.peak, asg.peak, 1):.1f}x "
          f"({label})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
