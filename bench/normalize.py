"""``tfvocab normalize``: the exact background tail against the Wilson-Hilferty ``gamma_z``
(issue 23): cost at genome size and calibration on simulated tracks, before and after.

Two parts, each against a named peer measured in the same run:

* ``scale`` - cost at genome size (default 27,000 genes x 50 windows x 300 TFs, an input
  control): synthetic DAP-seq-like window means (:func:`synthetic`, seeded per block of genes)
  written once as ``signal.h5`` in ``--workdir``, then in one process

  - the whole step, ``normalize.run`` (fit, calls, output, HDF5 I/O), of ``--baseline-rev``
    (the module of that commit, ``git show REV:src/tfvocab/data/normalize.py``) and of this
    checkout: wall and CPU seconds;
  - the enrichment kernel alone on the same array with the same fitted stats: the peer
    :func:`gamma_z_peer` (the Wilson-Hilferty approximation normalize used before, kept here
    only as the peer) on every window twice, as the previous normalize computed it (pass 2
    counting the calls, then the output pass), against :func:`tfvocab.data.normalize.enrichment`
    once (the step now counts the calls while writing).

* ``calibration`` - simulated data (``tfvocab simulate --preset P --tracks V`` for each
  ``--tracks`` variant, then promoters/extract/merge, built once in ``--workdir``), normalised
  by ``--baseline-rev`` and by this checkout: median z, the share of window x TF entries called,
  the share called outside planted peaks (no site centre within 250 bp) against the calling
  error rate alpha / T (also outside the input-bias regions), planted summits called (the
  site's window or a neighbour), low-signal and guarded TFs, and for tracks with k >= 0.1 how
  much the values move.

    OMP_NUM_THREADS=1 python -P bench/normalize.py scale --workdir /tmp/bench_nz
    OMP_NUM_THREADS=1 python -P bench/normalize.py calibration --workdir /tmp/bench_nz \\
        --preset small --tracks sparse-nocontrol sparse dense

Timings depend on the machine's load: the 1-minute load average is printed beside them.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
#: the commit this work branched from (normalize with the Wilson-Hilferty gamma_z)
BASELINE_REV = "d7ad770"


# ----------------------------------------------------------------------------- the peer
def gamma_z_peer(x: np.ndarray, mu: np.ndarray, dispersion: float) -> np.ndarray:
    """The previous normalize's tail (verbatim): Wilson-Hilferty normal deviate of the Gamma of
    mean ``mu`` and variance ``dispersion * mu`` at ``x`` (stated accurate for shape k >= 0.1)."""
    mu = np.maximum(np.asarray(mu, np.float64), 1e-12)
    a = max(float(dispersion), 1e-12)
    k = mu / a
    y = np.cbrt(np.maximum(np.asarray(x, np.float64), 0.0) / mu)
    return (y - 1.0 + 1.0 / (9.0 * k)) * 3.0 * np.sqrt(k)


def peer_enrichment(signal, mask, stats, control, control_mask):
    """The previous ``normalize.enrichment``: ``gamma_z_peer`` clipped to [0, 40] on every
    window of every TF, at ``x - quantum / 2``. (G, W, T) float32, NaN where masked."""
    from tfvocab.data import normalize as nz
    from tfvocab.data.background import Z_MAX

    G, W, T = signal.shape
    m = np.array(mask, dtype=bool, copy=True)
    ctl = None
    if stats.steps.get("control") and control is not None:
        _, cm = nz._control_columns(control, control_mask, stats.tf_control)
        m |= cm
        ctl = control
    mu = nz.background_mean(stats, ctl, G, W)
    x = np.where(m, 0.0, np.nan_to_num(signal.astype(np.float64)))
    z = np.empty((G, W, T), np.float32)
    for t in range(T):
        zt = gamma_z_peer(x[..., t] - 0.5 * stats.quantum[t], mu[..., t], float(stats.dispersion[t]))
        z[..., t] = np.clip(np.nan_to_num(zt, nan=0.0), 0.0, Z_MAX)
    z[m] = np.nan
    return z, m


def baseline_module(rev: str, workdir: Path):
    """``tfvocab/data/normalize.py`` of commit ``rev`` imported as ``tfvocab._normalize_<rev>`` (its
    relative imports resolve to this checkout's package)."""
    path = Path(workdir) / f"normalize_{rev}.py"
    if not path.exists():
        src = subprocess.run(["git", "-C", str(HERE.parent), "show", f"{rev}:src/tfvocab/data/normalize.py"],
                             check=True, capture_output=True, text=True).stdout
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(src)
    name = f"tfvocab._normalize_{rev}"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    mod.__package__ = "tfvocab"
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


# ----------------------------------------------------------------------------- scale
def synthetic(g0: int, n: int, W: int = 50, T: int = 300, sparse: bool = False, seed: int = 0):
    """DAP-seq-like window means of genes ``g0 .. g0 + n`` (seeded by block): float32 signal
    (n, W, T) and input control (n, W, 1). Coverage of 10 bp bins (Poisson) averaged over 50 bp
    windows that cut the bins (so values lie on a 0.02 lattice, as extract gives), background
    0.3 per bin x a per-TF depth (lognormal, sd 0.6; 0.01 with ``sparse``) x a shared input bias
    (broad x2-5 domains on 5 % of promoters, sticky x10-40 runs on 3 %), plus 0.4 peaks per
    promoter and TF (summit 25 x depth, lognormal sd 0.9, over 5 windows)."""
    rng = np.random.default_rng([seed, g0])
    depth = np.exp(np.random.default_rng([seed, 1]).normal(0, 0.6, T)).clip(0.25, 4)
    bg = 0.01 if sparse else 0.3
    bias = np.ones((n, W))
    bias[rng.random(n) < 0.05] *= rng.uniform(2, 5)
    for g in np.flatnonzero(rng.random(n) < 0.03):
        w0 = rng.integers(0, W - 6)
        bias[g, w0:w0 + rng.integers(6, 20)] = rng.uniform(10, 40)
    lam = bg * depth[None, None, :] * bias[..., None]                   # per bin
    ev = rng.random((n, T)) < 0.4
    gi, ti = np.nonzero(ev)
    wi = rng.integers(2, W - 2, len(gi))
    h = 25.0 * depth[ti] * rng.lognormal(0, 0.9, len(gi))
    for dw, f in ((-2, 0.14), (-1, 0.6), (0, 1.0), (1, 0.6), (2, 0.14)):
        np.add.at(lam, (gi, wi + dw, ti), h * f)
    # 5 bins of 10 bp; the window's edges cut its first and last bin (lattice 1/50)
    cut = rng.integers(0, 10, (n, 1, 1))
    full = rng.poisson(4.0 * lam)
    edge = rng.binomial(rng.poisson(lam * 2.0), (cut + 0.5) / 10.0)
    sig = (10.0 * full + 5.0 * edge) / 50.0
    ctl = rng.poisson(5 * 0.5 * (1 / 30 if sparse else 1.0) * bias)[..., None] / 5.0
    return sig.astype(np.float32), ctl.astype(np.float32)


def build_scale(workdir: Path, G: int, W: int, T: int, sparse: bool, block: int = 256) -> Path:
    """``signal.h5`` of :func:`synthetic` data in ``workdir`` (written once by
    :class:`tfvocab.formats.SignalWriter`, as ``tfvocab merge`` writes it)."""
    from tfvocab.formats import Geometry, SignalWriter

    tag = f"{G}x{W}x{T}{'_sparse' if sparse else ''}"
    path = Path(workdir) / f"signal_{tag}.h5"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.h5")
        geo = Geometry(upstream=2000, downstream=50 * W - 2000 - 1, window=50, stride=50)
        with SignalWriter(tmp, genes=[f"AT1G{i:05d}" for i in range(G)],
                          tfs=[f"TF{i:03d}" for i in range(T)], geometry=geo, controls=["input"],
                          tf_control=np.zeros(T, np.int64), lineage={"promoters": "synthetic"}) as w:
            for g0 in range(0, G, block):
                n = min(block, G - g0)
                s, c = synthetic(g0, n, W, T, sparse)
                w.write(g0, signal=s, max=s, mask=np.zeros(s.shape, bool))
                w.write(g0, control_signal=c, control_mask=np.zeros(c.shape, bool))
        tmp.rename(path)
    return path


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def scale(args) -> dict:
    """``tfvocab normalize`` (the step's ``run``, I/O included) of ``--baseline-rev`` and of this
    checkout on the same genome-size ``signal.h5``, then the enrichment kernel alone."""
    from tfvocab import formats
    from tfvocab.data import normalize as nz
    from tfvocab.data import normstats as ns

    wd = Path(args.workdir)
    t0 = time.perf_counter()
    src = build_scale(wd, args.genes, 50, args.tfs, args.sparse)
    print(f"data: {args.genes} genes x 50 windows x {args.tfs} TFs{' (sparse)' if args.sparse else ''}"
          f" + an input control: {src} ({src.stat().st_size / 2**20:.0f} MB; "
          f"{time.perf_counter() - t0:.0f} s to build or find)")
    base = baseline_module(args.baseline_rev, wd)
    rows = {}
    for name, mod in ((f"before ({args.baseline_rev}, gamma_z)", base), ("after (exact tail)", nz)):
        l0, c0, t = load(), _cpu(), time.perf_counter()
        path = mod.run(src, wd / f"out_{'after' if mod is nz else 'before'}")["normalized"]
        wall, cpu = time.perf_counter() - t, _cpu() - c0
        st = ns.read_stats(path) if mod is nz else base.read_stats(path)
        rows[name] = {"wall_s": wall, "cpu_s": cpu, "load": f"{l0}-{load()}",
                      "called": float(np.sum(st.n_enriched) / np.sum(st.n_observed))}
        print(f"  normalize.run {name:30s} wall {wall:7.1f} s  CPU {cpu:7.1f} s  (called "
              f"{rows[name]['called']:.4f} of the entries; load {rows[name]['load']})")
    b, a = rows[f"before ({args.baseline_rev}, gamma_z)"], rows["after (exact tail)"]
    print(f"ratio after / before, the whole step: wall {a['wall_s'] / b['wall_s']:.2f}x, "
          f"CPU {a['cpu_s'] / b['cpu_s']:.2f}x")
    # the kernel alone: same stats (after's fit), same array; before computed it twice (pass 2
    # counting the calls, then the output pass), after once (calls counted while writing)
    st = ns.read_stats(wd / "out_after" / "normalized.h5")
    cp, cn = 0.0, 0.0
    l0 = load()
    with formats.SignalFile(src) as f:
        for s_, m_, c_, cm_ in f.chunks(True, nz.CHUNK_GENES):
            c0 = _cpu()
            for _ in range(2):
                peer_enrichment(s_, m_, st, c_, cm_)
            cp += _cpu() - c0
            c0 = _cpu()
            nz.enrichment(s_, m_, st, c_, cm_)
            cn += _cpu() - c0
    rows["kernel"] = {"peer_cpu_s": cp, "new_cpu_s": cn, "load": f"{l0}-{load()}"}
    print(f"  kernel alone (CPU): gamma_z_peer x 2 passes {cp:.1f} s, exact tail x 1 pass "
          f"{cn:.1f} s: {cn / cp:.2f}x (load {rows['kernel']['load']})")
    return rows


# ----------------------------------------------------------------------------- the discrete alternative
def count_unit(k: np.ndarray, zero_frac: float, dispersion: float, quantum: float) -> float:
    """Count unit s of a negative binomial background (X = s N, var(N) = phi E[N], phi = a / s:
    NB1, the quasi-Poisson of the Gamma model made discrete), from the share of background
    windows at 0: P(X = 0) = exp(-k g(phi)), g(phi) = phi ln(phi) / (phi - 1), solved for phi in
    [1, a / quantum] (``k`` = mu / a of the background windows). The alternative measured for
    issue 23's item 2; not used by normalize."""
    a = float(dispersion)
    k = np.quantile(np.ravel(k), (np.arange(256) + 0.5) / 256)
    g = lambda u: u / -np.expm1(-max(u, 1e-12)) if u > 1e-12 else 1.0    # noqa: E731
    p0 = lambda u: float(np.mean(np.exp(-k * g(u))))                    # noqa: E731
    hi = np.log(a / quantum) if quantum > 0 else np.log(1e3)
    if zero_frac >= p0(0.0):
        return a
    lo, up = 0.0, hi
    if zero_frac <= p0(hi):
        return a / np.exp(hi)
    for _ in range(60):
        mid = 0.5 * (lo + up)
        lo, up = (mid, up) if p0(mid) > zero_frac else (lo, mid)
    return a / np.exp(0.5 * (lo + up))


def nb1_z(sig, msk, st, ctl) -> np.ndarray:
    """Enrichment z under the NB1 alternative with normalize's fit (mu, a; s from the share of
    windows at 0 among those at or below the background mean): (G, W, T), NaN where masked."""
    from scipy.special import betainc, gammainc, ndtri

    from tfvocab.data import normalize as nz
    from tfvocab.data.background import Z_MAX

    mu = nz.background_mean(st, ctl if st.steps.get("control") else None, *sig.shape[:2])
    x = np.nan_to_num(sig.astype(np.float64))
    z = np.zeros(x.shape)
    for t in range(x.shape[-1]):
        a, xt, mt = float(st.dispersion[t]), x[..., t], mu[..., t]
        low = xt <= mt
        s = count_unit(mt[low] / a, float(np.mean(xt[low] <= 0)), a, float(st.quantum[t]))
        if a / s - 1 > 1e-6:
            p = np.where(xt > 0, betainc(xt / s, mt / (a - s), 1 - s / a), 1.0)
        else:
            p = np.where(xt > 0, gammainc(xt / s, mt / s), 1.0)
        z[..., t] = np.clip(-ndtri(np.clip(p, 1e-300, 1.0)), 0, Z_MAX)
    z[msk] = np.nan
    return z


def special_cost(n: int = 200_000) -> float:
    """CPU seconds of ``betainc`` (NB1) over ``gammainc`` + ``gammaincc`` (the Gamma, as
    :func:`tfvocab.data.background.log_tail` evaluates it) on the same n background-like values."""
    from scipy.special import betainc, gammainc, gammaincc

    rng = np.random.default_rng(0)
    a, s = 0.2, 0.15
    mu = rng.uniform(0.005, 2.0, n)
    x = rng.gamma(mu / a, a) + 0.02
    c0 = time.process_time()
    p = gammainc(mu / a, x / a)
    gammaincc(mu[p > 0.9] / a, x[p > 0.9] / a)
    gam = time.process_time() - c0
    c0 = time.process_time()
    betainc(x / s, mu / (a - s), 1 - s / a)
    return (time.process_time() - c0) / gam


# ----------------------------------------------------------------------------- calibration
def build_chain(root: Path, preset: str, tracks: str, seed: int = 0) -> dict:
    """simulate (``--tracks``) -> promoters -> extract -> merge under ``root``, as ``tfvocab
    demo`` runs them (:func:`tfvocab.demo.data_steps`; steps already done are reused)."""
    from tfvocab.simulate import dataset as simulate
    from tfvocab.demo import data_steps

    root = Path(root)
    sim = root / "simulate"
    if not (sim / "truth" / "roles.tsv").exists():
        simulate.run(preset=preset, seed=seed, outdir=sim, tracks=tracks)
    if not (root / "merge" / "signal.h5").exists():
        def step(name, fn, **kwargs):
            if name in ("promoters", "extract", "merge"):
                fn(outdir=root / name, **kwargs)
        data_steps(sim, root, seed=seed, step=step)
    return {"sim": sim, "promoters": root / "promoters" / "promoters.tsv",
            "signal": root / "merge" / "signal.h5"}


def truth(chain: dict, tfs: list[str], geometry, reach_bp: int = 250):
    """(near, summit, biased) of :func:`tfvocab.simulate.dataset.planted_windows` for the chain."""
    import pandas as pd

    from tfvocab import formats
    from tfvocab.simulate.dataset import planted_windows

    prom = formats.read_promoters(chain["promoters"])
    sites = pd.read_csv(chain["sim"] / "truth" / "sites.tsv", sep="\t")
    bias = pd.read_csv(chain["sim"] / "truth" / "bias_regions.tsv", sep="\t")
    args = (prom.chrom.to_numpy(), prom.start_codon.to_numpy(), prom.strand.to_numpy(),
            np.asarray(geometry.window_start), int(geometry.window), tfs)
    near, biased = planted_windows(sites, bias, *args, reach_bp=reach_bp)
    summit, _ = planted_windows(sites, bias, *args, reach_bp=0)
    return near, summit, biased


def score(z: np.ndarray, m: np.ndarray, st, near, summit, biased) -> dict:
    """Calibration figures of enrichment z-scores against the planted truth."""
    T = z.shape[-1]
    rate = st.alpha / T
    called = (z >= st.z_threshold) & ~m
    around = called.copy()
    around[:, 1:] |= called[:, :-1]
    around[:, :-1] |= called[:, 1:]
    outside = ~near & ~m
    k = np.asarray(st.background) / np.asarray(st.dispersion)
    return {"median_z": float(np.nanmedian(z)), "called": float(called[~m].mean()),
            "outside_peaks_vs_rate": float(called[outside].mean() / rate),
            "outside_bias_too_vs_rate": float(called[outside & ~biased[..., None]].mean() / rate),
            "summits_called": float(around[summit].mean()), "rate": rate,
            "z_threshold": st.z_threshold,
            "k_median": float(np.median(k)), "k_min": float(k.min()),
            "low_signal": [t for t, lo in zip(st.tfs, st.low_signal) if lo],
            "guarded": [t for t, g in zip(st.tfs, getattr(st, "suspect", np.zeros(len(st.tfs), bool))) if g]}


def calibration(args) -> dict:
    from tfvocab import formats
    from tfvocab.data import normalize as nz
    from tfvocab.data import normstats as ns

    wd = Path(args.workdir)
    base = baseline_module(args.baseline_rev, wd)
    out = {}
    for tracks in args.tracks:
        chain = build_chain(wd / f"{args.preset}_{tracks}", args.preset, tracks)
        with formats.SignalFile(chain["signal"]) as f:
            sig, msk, ctl, cm = next(iter(f.chunks(True, 10**9)))
            tfs, geo, tfc = list(f.tfs), f.geometry, f.tf_control
        near, summit, biased = truth(chain, tfs, geo)
        res = {}
        for name, mod in (("before", base), ("after", nz)):
            t = time.perf_counter()
            st = mod.fit_stats(sig, msk, ctl, cm, tfc, tfs=tfs, stride=geo.stride)
            z, m = mod.apply(sig, msk, st, ctl, cm)
            res[name] = {**score(z, m, st, near, summit, biased), "seconds": time.perf_counter() - t,
                         "load": load()}
            res[name]["_z"], res[name]["_m"], res[name]["_k"] = z, m, st.background / st.dispersion
            if mod is nz:
                res[name]["null_excess_max"] = float(np.max(st.null_excess))
                t = time.perf_counter()
                zd = nb1_z(sig, m, st, ctl)
                res["discrete NB1"] = {**score(zd, m, st, near, summit, biased),
                                       "seconds": time.perf_counter() - t, "load": load()}
        zb, za, ok = res["before"].pop("_z"), res["after"].pop("_z"), ~res["after"].pop("_m")
        res["before"].pop("_k")
        res["before"].pop("_m")
        kb = res["after"].pop("_k")             # the shape of the exact fit
        dense = ok & (kb >= 0.1)[None, None, :]
        d, top = np.abs(za - zb)[dense], np.maximum(za, zb)[dense]
        moves = {}
        for lo, hi in ((0, 2), (2, 5), (5, 10), (10, 41)):
            b = (top >= lo) & (top < hi)
            if b.any():
                moves[f"[{lo},{hi})"] = {"n": int(b.sum()), "median": float(np.median(d[b])),
                                         "p99": float(np.quantile(d[b], 0.99)), "max": float(d[b].max())}
        zt = res["after"]["z_threshold"]
        cb, ca = zb[dense] >= zt, za[dense] >= zt
        res["k>=0.1"] = {"tfs": int((kb >= 0.1).sum()), "z_moves": moves,
                         "calls_agree": float(np.mean(cb == ca)) if cb.size else None,
                         "calls_before_only": int(np.sum(cb & ~ca)), "calls_after_only": int(np.sum(ca & ~cb))}
        out[tracks] = res
        print(f"\n{args.preset} --tracks {tracks} ({len(tfs)} TFs, {sig.shape[0]} genes; alpha/T = "
              f"{res['after']['rate']:.5f})")
        print("          median z  called   outside peaks / (alpha/T)  ... and bias  summits called  "
              "k median (min)  low-signal  guarded  seconds (load)")
        for name in ("before", "after", "discrete NB1"):
            r = res[name]
            print(f"  {name[:7]:7s} {r['median_z']:8.2f}  {r['called']:.4f}  {r['outside_peaks_vs_rate']:25.2f}  "
                  f"{r['outside_bias_too_vs_rate']:12.2f}  {r['summits_called']:14.3f}  "
                  f"{r['k_median']:.3f} ({r['k_min']:.4f})  {len(r['low_signal']):10d}  "
                  f"{len(r['guarded']):7d}  {r['seconds']:.1f} ({r['load']})")
        kk = res["k>=0.1"]
        print(f"  TFs with k >= 0.1 (after's fit): {kk['tfs']}; |z after - z before| by z: " +
              "; ".join(f"{b} median {v['median']:.3f} p99 {v['p99']:.3f} max {v['max']:.3f}"
                        for b, v in kk["z_moves"].items()) +
              (f"; calls agree {kk['calls_agree']:.4f} (before only {kk['calls_before_only']}, after only "
               f"{kk['calls_after_only']})" if kk["calls_agree"] is not None else ""))
        print(f"  after: guard figure null_excess max {res['after']['null_excess_max']:.2f} (named above "
              f"{ns.NULL_EXCESS_MAX:g}); 'discrete' = NB1 alternative on after's fit (not used)")
        if res["after"]["guarded"] or res["after"]["low_signal"]:
            print(f"  after: low-signal {res['after']['low_signal']}; guarded {res['after']['guarded']}")
    ratio = special_cost()
    out["special_cost_nb1_over_gamma"] = ratio
    print(f"\ntail evaluation cost, NB1 (betainc) / Gamma (gammainc + gammaincc), same values: "
          f"{ratio:.1f}x CPU")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="part", required=True)
    a = sub.add_parser("scale", help="genome-size cost, before vs after")
    a.add_argument("--genes", type=int, default=27_000)
    a.add_argument("--tfs", type=int, default=300)
    a.add_argument("--sparse", action="store_true", help="sparse tracks (background 0.01 per bin)")
    c = sub.add_parser("calibration", help="simulated tracks: calibration and planted peaks")
    c.add_argument("--preset", default="small")
    c.add_argument("--tracks", nargs="+", default=["sparse-nocontrol", "sparse", "dense"])
    for p in (a, c):
        p.add_argument("--workdir", required=True)
        p.add_argument("--baseline-rev", default=BASELINE_REV,
                       help=f"commit whose normalize is 'before' [{BASELINE_REV}]")
        p.add_argument("--out", default=None, help="JSON file for the figures")
    args = ap.parse_args()
    res = scale(args) if args.part == "scale" else calibration(args)
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=1, default=float))


if __name__ == "__main__":
    main()
