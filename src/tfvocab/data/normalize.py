"""Per-TF normalisation of promoter-window DAP-seq signal (blueprint III.B.3, V.A).

Input is the ``signal.h5`` tensor of ``merge``: ``signal`` float32 (G, W, T), NaN where missing,
with a boolean ``mask`` (G, W, T) that is True there, and optionally input-control tracks
(``control_signal`` (G, W, C) with ``tf_control`` (T,) naming each TF's control column).

**Background model** (fitted per TF, :func:`fit_background`). A window's signal ``x`` (mean
coverage over its bases) is modelled under "no binding" as Gamma-distributed with mean ``mu``
and variance ``a * mu`` (quasi-Poisson: ``a`` is the track's dispersion in its own units, so the
model holds for counts, RPM or any scaled coverage, at any depth):

* with a control, ``mu_w = kappa * c_w`` where ``c_w`` is the control's *local* level: the largest
  of the control's window value, its means over +-100 bp and +-250 bp, and its promoter-wide
  median (MACS's local lambda; the mean where a mostly-zero control has a median of 0);
  ``kappa`` (TF per unit control) is the ratio of TF to control signal over background windows;
* without one, ``mu = beta``, the mean of the track's background windows.

Background windows are found by iterative trimming: fit on all observed windows, drop every
window within +-100 bp of one whose background p-value is below 1e-3 (peaks and their tails),
refit, until stable. The fit uses a seeded sample of at most ``max_fit_genes`` genes.

The tail ``p = P(background >= x)`` is exact at every shape ``k = mu / a``
(:func:`log_tail`: ``scipy.special.gammainc`` / ``gammaincc``, and a continued fraction in log
space below 1e-280, turned into z in log space by ``ndtri_exp``, so z stays finite and monotone
far beyond 1e-300), taken at ``x - quantum / 2`` where the data come in steps of ``quantum``
(counts: continuity correction), so a window at the track's minimum (0) has p = 1 and is never
enriched. The Wilson-Hilferty approximation used before is accurate only for k >= 0.1; sparse
tracks (most windows exactly 0, no control) have k ~ 0.005 and it called every window enriched.
Measured on mostly-zero simulated tracks (``bench/normalize.py``): the moment fit with exact
trimming gives stable k (0.02-0.2), the fraction of windows called outside planted peaks stays
within the calling error rate and every planted summit is called; the Gamma overstates the
tail of sparse counts (conservative at the calling threshold); a negative binomial on a count
unit fitted from the share of zeros (measured there as the discrete alternative) called no more
planted peaks at 3x the cost per tail, so no discrete model is used.

**Transforms** (``transform``):

* ``enrichment`` (default): the value is the one-sided enrichment z-score
  ``z = Phi^-1(1 - p)``, ``p = P(background >= x)`` (the exact tail above,
  :func:`enrichment_z`), clipped to ``[0, Z_MAX]``. Under the background every track gives the
  same null distribution whatever its depth, so a track without binding stays near 0 instead of being stretched to look like one with peaks, and binding is
  measured in the same units (significance) in every track. A TF is *enriched* (called) in a
  window when ``p < alpha / T`` (``z >= Phi^-1(1 - alpha/T)``): Bonferroni over the T TFs, so a
  window with no binding at all has at most an ``alpha`` chance of any call (default 5%).
  Not invertible (:func:`invert` refuses).
* ``logz`` (the previous chain, each step switchable): depth scaling, control subtraction
  (``control_scale_t`` = control depth / reference, negatives clipped to 0, windows with a missing
  control masked), ``log2(x + c)``, z-score per TF over all observed windows.

**Depth scaling** (``scale_t``; used by ``logz``, reported by both): ``scale_t`` =
``background_t / reference``, the track's fitted background level per window over the median
background level of the TFs. The background is estimated with the peaks trimmed, so a track's
scale does not depend on how much it binds: the earlier "mean signal per window" scale divided
strongly binding tracks down and multiplied a track without binding up (4.7x in one real-genome
case) until its noise looked like binding. Scaling from signal in enriched regions was rejected
because it is undefined for a track without enrichment and noisy for one with few peaks.

**Low-signal tracks.** ``active_frac`` is the fraction of observed windows in which the TF is
enriched (``logz``: signal > 0 after depth scaling / control subtraction, as before). A TF has
*no enrichment* when its number of enriched windows is not above what the calling error rate
alone gives (one-sided binomial test of ``n_enriched`` against ``n_observed * alpha / T``,
p > 1e-3) or when ``active_frac < min_active_frac``: such TFs are named by the warning, recorded in
the ``stats`` attrs (``low_signal_tfs``) and dropped with ``drop_low_signal``.

**The guard** (``enrichment``): a TF called in more than ``MAX_ENRICHED_FRAC`` (25 %) of its
windows (DAP-seq peaks cover a few % of promoter windows; the calling error rate is alpha / T),
or whose null z is far from N(0, 1) in its upper tail - more than 10 c of the fit's background
windows at p <= c for some 1e-3 <= c <= 0.05 (``null_excess``, at p-level ``null_level``: the
model does not describe the track, or an approximation is used outside its range; measured
0.5-1 on dense and 3-4 on sparse simulated tracks, whose single reads the Gamma puts at
p ~ 0.01 a few times too often) - is named in a warning with the figure
(:func:`guard_messages`), in the ``stats`` attrs (``suspect_tfs``), the root attrs
(``suspect_tfs``, ``normalize_warnings``), the step's manifest (``warnings``) and the report.
The failure that motivated it (the Wilson-Hilferty tail at k < 0.03: every window called) is
replayed in the tests and named.

Missing windows stay NaN + mask through every step and never contribute to any statistic.
:func:`fit_stats` learns the per-TF :class:`Stats`, :func:`apply` applies them (to new genes as
well); for ``logz``, :func:`invert` undoes z-score, log and depth scaling (exactly, up to float
rounding) for values that were not clipped.

The background model's array functions (control level, exact tail, screen, z-score, fit) are in
:mod:`tfvocab.data.background`; the fitted :class:`~tfvocab.data.normstats.Stats`, the guard's verdict and
their record in ``normalized.h5`` in :mod:`tfvocab.data.normstats`. This module is the step: fitting
and applying the transforms, and ``run`` (read ``signal.h5`` -> fit and apply -> write
``normalized.h5``).
"""
from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from .background import (GUARD_BP, enrichment_z, fit_background, grid_index, local_control,
                         reach_windows)
from ..errors import TfvocabError
from .normstats import STEPS, Stats, align_stats, guard_messages, read_stats, stats_record
from .. import formats
from ..io import provenance
from ..publish import step_outputs
from ..log import get_logger, progress, timed

logger = get_logger("normalize")

TRANSFORMS = ("enrichment", "logz")
CHUNK_GENES = 256


# ---------------------------------------------------------------- array functions (no I/O)

def depth_totals(signal: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-track signal sum (float64) and number of observed windows (int64) over axes (G, W).

    ``signal``/``mask``: (G, W, T). Returns two (T,) arrays.
    """
    x = np.where(mask, 0.0, signal).astype(np.float64)
    return x.sum(axis=(0, 1)), (~mask).sum(axis=(0, 1)).astype(np.int64)


def _control_columns(control: np.ndarray | None, control_mask: np.ndarray | None,
                     tf_control: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Control signal/mask re-indexed per TF: (G, W, T); zeros / unmasked where no control."""
    idx = np.maximum(tf_control, 0)
    c = control[..., idx].astype(np.float32)
    cm = control_mask[..., idx] if control_mask is not None else np.isnan(c)
    none = tf_control < 0
    c[..., none] = 0.0
    cm = cm.copy()
    cm[..., none] = False
    return c, cm


def pre_log(signal: np.ndarray, mask: np.ndarray, stats: Stats,
            control: np.ndarray | None = None,
            control_mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Depth scaling and control subtraction: (G, W, T) float32 values >= 0 and the new mask.

    Values are in "reference depth" units (raw units when depth scaling is off); negatives
    (below the control, or a signed input track) are clipped to 0; masked entries are NaN.
    """
    x = signal.astype(np.float32, copy=True)
    m = np.array(mask, dtype=bool, copy=True)
    if stats.steps.get("depth"):
        x /= stats.scale.astype(np.float32)
    if stats.steps.get("control") and control is not None:
        c, cm = _control_columns(control, control_mask, stats.tf_control)
        cs = np.where(stats.tf_control >= 0, stats.control_scale, 1.0).astype(np.float32)
        x -= c / cs
        m |= cm
    np.maximum(x, 0.0, out=x)
    x[m] = np.nan
    return x, m


def background_mean(stats: Stats, control: np.ndarray | None, g: int, W: int,
                    levels: bool = False):
    """Background mean ``mu`` (g, W, T) of every TF under ``stats`` (``control`` (g, W, C)).
    With ``levels``: also ``level`` and ``grid`` (g, W, T) ints for :func:`enrichment_z`: the
    index of each window's local control level among the chunk's distinct levels of its control
    (0 without control: equal index, equal ``mu`` for a TF) and :func:`grid_index` of the level
    over the control's floor (0 without control)."""
    T = len(stats.tfs)
    mu = np.broadcast_to(np.asarray(stats.background, np.float64), (g, W, T)).copy()
    level = np.zeros((g, W, T), np.int64) if levels else None
    grid = np.zeros((g, W, T), np.int64) if levels else None
    if stats.steps.get("control") and control is not None:
        for col in np.unique(stats.tf_control[stats.tf_control >= 0]):
            tf = np.flatnonzero(stats.tf_control == col)
            floor = float(stats.control_floor[tf[0]])
            c, _ = local_control(control[..., col], stats.reach, floor)
            mu[..., tf] = c[..., None] * np.asarray(stats.kappa, np.float64)[tf]
            if levels:
                import pandas as pd

                level[..., tf] = pd.factorize(c.ravel())[0].reshape(c.shape)[..., None]
                # the screen's grid needs the TF's smallest mean kappa * floor >= 1e-12 (the
                # clamp of log_tail); otherwise -1: no screen, every window evaluated
                kf = np.asarray(stats.kappa, np.float64)[tf] * floor
                gi = grid_index(c / floor) if floor > 0 else np.full(c.shape, -1)
                grid[..., tf] = np.where(kf >= 1e-12, gi[..., None], -1)
    return (mu, level, grid) if levels else mu


def enrichment(signal: np.ndarray, mask: np.ndarray, stats: Stats,
               control: np.ndarray | None = None, control_mask: np.ndarray | None = None,
               z_floor: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Enrichment z-scores (G, W, T) float32 (NaN where masked) and the mask, under ``stats``'
    background model (``stats.transform == "enrichment"``). A window whose control is missing is
    masked for the TFs using that control. ``z_floor``: as :func:`enrichment_z` (values below
    it may be 0; exact at the default 0)."""
    G, W, T = signal.shape
    m = np.array(mask, dtype=bool, copy=True)
    ctl = None
    if stats.steps.get("control") and control is not None:
        _, cm = _control_columns(control, control_mask, stats.tf_control)
        m |= cm
        ctl = control
    x = np.where(m, 0.0, np.nan_to_num(signal.astype(np.float64)))
    mu, level, grid = background_mean(stats, ctl, G, W, levels=True)
    q = np.zeros(T) if stats.quantum is None else np.asarray(stats.quantum, np.float64)
    mu0 = np.asarray(stats.background, np.float64)          # smallest background mean per TF
    if ctl is not None:
        mu0 = np.where(stats.tf_control >= 0, np.asarray(stats.kappa, np.float64)
                       * np.asarray(stats.control_floor, np.float64), mu0)
    z = enrichment_z(x, mu, np.asarray(stats.dispersion, np.float64), q, mu0,
                     z_floor=z_floor, level=level, grid=grid).astype(np.float32)
    z[m] = np.nan
    return z, m


def _log_and_z(x: np.ndarray, m: np.ndarray, stats: Stats) -> np.ndarray:
    if stats.steps.get("log"):
        x = np.log2(x + stats.pseudocount.astype(np.float32))
    if stats.steps.get("zscore"):
        x = (x - stats.mean.astype(np.float32)) / stats.std.astype(np.float32)
    x = x.astype(np.float32, copy=False)
    x[m] = np.nan
    return x


def apply(signal: np.ndarray, mask: np.ndarray, stats: Stats,
          control: np.ndarray | None = None,
          control_mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Normalise ``signal`` (G, W, T) with fitted ``stats`` (all T TFs, ``kept`` not applied).

    ``control``/``control_mask``: (G, W, C) control tracks (used when ``stats.steps['control']``).
    Returns ``(normalized float32 (G, W, T), mask bool (G, W, T))``; NaN where masked.
    ``enrichment`` transform: :func:`enrichment`; ``logz``: :func:`pre_log` then log / z-score.
    """
    if stats.transform == "enrichment":
        return enrichment(signal, mask, stats, control, control_mask)
    x, m = pre_log(signal, mask, stats, control, control_mask)
    return _log_and_z(x, m, stats), m


def invert(normalized: np.ndarray, stats: Stats) -> np.ndarray:
    """Undo z-score, log and depth scaling: (G, W, T) back to raw signal units.

    Exact (up to float rounding) where nothing was clipped. With control subtraction the result
    is ``max(signal - control * scale / control_scale, 0)`` (the control-corrected signal in the
    TF's raw units): the clipped part cannot be recovered. NaN stays NaN. The ``enrichment``
    transform is not invertible (a p-value does not give back the signal): ValueError.
    """
    if stats.transform == "enrichment":
        raise ValueError("enrichment z-scores cannot be inverted to signal (use transform='logz')")
    x = normalized.astype(np.float64)
    if stats.steps.get("zscore"):
        x = x * stats.std + stats.mean
    if stats.steps.get("log"):
        x = np.exp2(x) - stats.pseudocount
    if stats.steps.get("depth"):
        x = x * stats.scale
    return x.astype(np.float32)


ChunkSource = Callable[[], Iterable[tuple]]


def fit_stats_chunks(chunks: ChunkSource, tfs: list[str], *, tf_control: np.ndarray | None = None,
                     depth: bool = True, control: bool = True, log: bool = True,
                     zscore: bool = True, pseudocount: float = 1.0,
                     min_active_frac: float = 0.0, drop_low_signal: bool = False,
                     transform: str = "enrichment", alpha: float = 0.05, stride: int = 50,
                     n_genes: int | None = None, max_fit_genes: int = 2000, seed: int = 0,
                     path: str | None = None, count_calls: bool = True) -> Stats:
    """Fit :class:`Stats` streaming over gene chunks (two passes).

    ``chunks()`` yields ``(signal, mask, control, control_mask)`` tuples of (g, W, T) /
    (g, W, C) arrays (control entries may be None); it is called once per pass. Pass 1 keeps
    a seeded sample of at most ``max_fit_genes`` genes (``n_genes``: total genes, None = keep all)
    for the background model and sums the control depth (``logz``); pass 2 counts enriched
    windows (:func:`finish_calls`; ``count_calls=False``: skipped, for a caller that counts them
    while writing) and, for ``logz``, the z-score moments. ``stride``: bp between window starts
    (sets the control reach and the trimming guard in windows).
    """
    if transform not in TRANSFORMS:
        raise TfvocabError(f"unknown transform {transform!r}", hint=f"use one of {', '.join(TRANSFORMS)}")
    if not 0 < alpha < 1:
        raise TfvocabError(f"alpha must be in (0, 1) (got {alpha})")
    T = len(tfs)
    tf_control = np.full(T, -1, np.int64) if tf_control is None else np.asarray(tf_control, np.int64)
    has_control = bool((tf_control >= 0).any())
    if control and not has_control:
        logger.info("no control tracks: background from each track's own off-peak windows")
    enrich = transform == "enrichment"
    steps = {"depth": bool(depth), "control": bool(control and has_control),
             "log": bool(log) and not enrich, "zscore": bool(zscore) and not enrich,
             "enrichment": enrich}
    reach = reach_windows(stride)
    guard = reach_windows(stride, (GUARD_BP,))[0]
    rate = 1.0 if not n_genes else min(1.0, max_fit_genes / max(1, n_genes))
    rng = np.random.default_rng(seed)

    # pass 1: gene sample for the background model; control depth (logz)
    s_n = np.zeros(T, np.int64)
    c_sum = c_n = None
    sample = []
    for sig, msk, ctl, cmsk in chunks():
        s_n += (~msk).sum(axis=(0, 1))
        cm = None
        if ctl is not None:
            cm = cmsk if cmsk is not None else np.isnan(ctl)
            if steps["control"]:
                a_, b_ = depth_totals(ctl, cm)
                c_sum = a_ if c_sum is None else c_sum + a_
                c_n = b_ if c_n is None else c_n + b_
        take = rng.random(len(sig)) < rate
        if take.any():
            sample.append((sig[take], msk[take], None if ctl is None else ctl[take],
                           None if cm is None else cm[take]))
    empty = s_n == 0
    if empty.any():
        names = [tfs[i] for i in np.flatnonzero(empty)]
        if not drop_low_signal:
            raise TfvocabError(f"TF(s) {', '.join(names)} have no observed window (all masked)",
                               path=path, hint="check extract/merge for that TF, or pass "
                               "--drop-low-signal to drop it")
        logger.warning("all-masked TF(s) dropped: %s", ", ".join(names))
    if not sample:
        raise TfvocabError("no genes to fit the normalisation on", path=path)
    sig = np.concatenate([x[0] for x in sample])
    msk = np.concatenate([x[1] for x in sample])
    ctl = np.concatenate([x[2] for x in sample]) if steps["control"] and sample[0][2] is not None else None
    cmk = np.concatenate([x[3] for x in sample]) if ctl is not None else None
    del sample
    kappa = np.full(T, np.nan)
    beta = np.zeros(T)
    disp = np.ones(T)
    quantum = np.zeros(T)
    null_exc, null_level = np.zeros(T), np.ones(T)
    floor = np.full(T, np.nan)
    local = {}
    if ctl is not None:
        for col in np.unique(tf_control[tf_control >= 0]):
            local[int(col)] = local_control(np.where(cmk[..., col], np.nan, ctl[..., col]), reach)
    for t in range(T):
        obs = ~msk[..., t]
        col = int(tf_control[t])
        lc = None
        if col >= 0 and col in local:
            lc, floor[t] = local[col]
            obs = obs & ~cmk[..., col]
        fit = fit_background(sig[..., t], obs, lc, guard=guard)
        kappa[t], beta[t], disp[t] = fit["kappa"], fit["beta"], fit["dispersion"]
        quantum[t], null_exc[t], null_level[t] = fit["quantum"], fit["null_excess"], fit["null_level"]
    positive = beta > 0
    reference = float(np.median(beta[positive])) if positive.any() else 1.0
    scale = np.where(positive, beta / reference, 1.0) if steps["depth"] else np.ones(T)
    control_scale = np.full(T, np.nan)
    if steps["control"] and c_sum is not None:
        c_depth = c_sum / np.maximum(c_n, 1)
        per_tf = c_depth[np.maximum(tf_control, 0)]
        cs = np.where(per_tf > 0, per_tf / reference, 1.0) if steps["depth"] else np.ones(T)
        control_scale = np.where(tf_control >= 0, cs, np.nan)
    pc = np.full(T, float(pseudocount))
    stats = Stats(tfs=list(tfs), scale=scale, control_scale=control_scale, tf_control=tf_control,
                  pseudocount=pc, mean=np.zeros(T), std=np.ones(T), kept=~empty,
                  active_frac=np.zeros(T), n_observed=s_n, steps=steps,
                  reference_depth=reference, min_active_frac=float(min_active_frac),
                  transform=transform, alpha=float(alpha), kappa=kappa, background=beta,
                  dispersion=disp, quantum=quantum, null_excess=null_exc, null_level=null_level,
                  control_floor=floor,
                  reach=tuple(int(r) for r in reach))

    # pass 2: enriched windows; logz: activity and z-score moments of the log-transformed values
    if enrich and not count_calls:
        return stats
    zsteps = dict(steps, zscore=False)
    tmp = dataclasses.replace(stats, steps=zsteps)
    n = np.zeros(T, np.int64)
    active = np.zeros(T, np.int64)
    m1 = np.zeros(T)
    m2 = np.zeros(T)
    shift = None
    zt = stats.z_threshold
    for sig, msk, ctl, cmsk in chunks():
        if enrich:       # only the calls: z below the threshold may come back as 0
            z, m = enrichment(sig, msk, stats, ctl, cmsk, z_floor=0.999 * zt)
            active += ((z >= zt) & ~m).sum(axis=(0, 1))
            n += (~m).sum(axis=(0, 1))
            continue
        x, m = pre_log(sig, msk, tmp, ctl, cmsk)
        active += ((x > 0) & ~m).sum(axis=(0, 1))
        y = _log_and_z(x, m, tmp).astype(np.float64)
        obs = ~m
        if shift is None:  # shifted moments: numerically stable single pass
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                shift = np.nan_to_num(np.nanmean(y, axis=(0, 1)))
        d = np.where(obs, y - shift, 0.0)
        n += obs.sum(axis=(0, 1))
        m1 += d.sum(axis=(0, 1))
        m2 += (d * d).sum(axis=(0, 1))
    if enrich:
        return finish_calls(stats, n, active, drop_low_signal)
    nn = np.maximum(n, 1)
    stats.n_observed = n
    stats.active_frac = active / nn
    shift = np.zeros(T) if shift is None else shift
    mean = shift + m1 / nn
    var = np.maximum(m2 / nn - (m1 / nn) ** 2, 0.0)
    std = np.sqrt(var)
    std[~(std > 1e-12)] = 1.0
    if steps["zscore"]:
        stats.mean, stats.std = mean, std
    return _name_low_signal(stats, drop_low_signal)


def finish_calls(stats: Stats, n_observed: np.ndarray, n_called: np.ndarray,
                 drop_low_signal: bool = False) -> Stats:
    """Complete enrichment ``stats`` (in place) from per-TF counts (T,) of observed and called
    windows (z >= ``z_threshold``): ``active_frac``, ``n_enriched``, ``p_enrichment`` (binomial
    P(>= n_called | n_observed, alpha / T)); TFs without enrichment are named (and dropped with
    ``drop_low_signal``) and the guard's warnings (:func:`guard_messages`) are logged."""
    from scipy.stats import binom

    n = np.asarray(n_observed, np.int64)
    active = np.asarray(n_called, np.int64)
    nn = np.maximum(n, 1)
    stats.n_observed = n
    stats.active_frac = active / nn
    stats.n_enriched = active
    p_false = stats.alpha / max(1, len(stats.tfs))
    stats.p_enrichment = np.where(n > 0, binom.sf(active - 1, nn, p_false), 1.0)
    for msg in guard_messages(stats):
        logger.warning("%s", msg)
    return _name_low_signal(stats, drop_low_signal)


def _name_low_signal(stats: Stats, drop_low_signal: bool) -> Stats:
    """Warn with the names of the low-signal TFs (among those kept); drop them if asked."""
    low = stats.low_signal & stats.kept
    if low.any():
        why = (f"enriched windows not above the {100 * stats.alpha:g}% calling error rate"
               if stats.transform == "enrichment"
               else f"active in < {100 * stats.min_active_frac:.3g}% of windows")
        names = ", ".join(f"{stats.tfs[i]} ({100 * stats.active_frac[i]:.3g}%)"
                          for i in np.flatnonzero(low))
        logger.warning("TF(s) without enrichment (%s): %s%s", why, names,
                       " -> dropped" if drop_low_signal else "")
    if drop_low_signal:
        stats.kept = stats.kept & ~low
    return stats


def fit_stats(signal: np.ndarray, mask: np.ndarray, control: np.ndarray | None = None,
              control_mask: np.ndarray | None = None, tf_control: np.ndarray | None = None,
              *, tfs: list[str] | None = None, **kwargs) -> Stats:
    """Fit :class:`Stats` on in-memory arrays.

    ``signal``/``mask``: (G, W, T); ``control``/``control_mask``: (G, W, C) or None;
    ``tf_control``: (T,) control column per TF (-1: none). Keyword options as
    :func:`fit_stats_chunks` (depth, control, log, zscore, pseudocount, min_active_frac,
    drop_low_signal, transform, alpha, stride, max_fit_genes, seed).
    """
    T = signal.shape[-1]
    tfs = list(tfs) if tfs is not None else [f"tf{i}" for i in range(T)]
    kwargs.setdefault("n_genes", signal.shape[0])
    return fit_stats_chunks(lambda: [(signal, mask, control, control_mask)], tfs,
                            tf_control=tf_control, **kwargs)


def run(signal: str | Path, outdir: str | Path, *, depth: bool = True, control: bool = True,
        log: bool = True, zscore: bool = True, pseudocount: float = 1.0,
        drop_low_signal: bool = False, min_active_frac: float = 0.0,
        stats: str | Path | None = None, transform: str = "enrichment",
        alpha: float = 0.05) -> dict[str, Path]:
    """Normalise ``signal.h5`` into ``outdir/normalized.h5``; returns ``{"normalized": path}``.

    With ``stats`` (a previous ``normalized.h5``) its statistics and steps are reused instead
    of fitted, so new genes get exactly the same transform; the TF sets must match.
    """
    signal, outdir = Path(signal), Path(outdir)
    if pseudocount <= 0 and log and stats is None:
        raise TfvocabError(f"--pseudocount must be > 0 (got {pseudocount})")
    if not 0 <= min_active_frac <= 1:
        raise TfvocabError(f"--min-active-frac must be in [0, 1] (got {min_active_frac})")
    params = dict(signal=str(signal), depth=depth, control=control, log=log, zscore=zscore,
                  pseudocount=pseudocount, drop_low_signal=drop_low_signal,
                  min_active_frac=min_active_frac, stats=str(stats) if stats else None,
                  transform=transform, alpha=alpha)
    with formats.SignalFile(signal) as src:
        G, W, T = src.shape

        def chunks(use_control: bool, desc: str):
            starts = range(0, G, CHUNK_GENES)
            return progress(src.chunks(use_control, CHUNK_GENES), desc=desc, total=len(starts),
                            unit="chunk")

        if stats is not None:
            st = align_stats(read_stats(stats), src.tfs, path=str(stats))
            logger.info("reusing stats from %s (steps: %s)", stats,
                        ",".join(s for s in STEPS if st.steps.get(s)) or "none")
            if st.steps.get("control") and not src.has_control:
                raise TfvocabError("the --stats file applied control subtraction but this "
                                   "signal has no control tracks", path=str(signal))
        else:
            # enrichment without dropping: the calls are counted while writing (one pass less)
            count_later = transform == "enrichment" and not drop_low_signal
            with timed(f"fitting normalisation stats on {G} genes x {W} windows x {T} TFs", logger):
                st = fit_stats_chunks(lambda: chunks(control, "fit"), src.tfs,
                                      tf_control=src.tf_control, depth=depth, control=control,
                                      log=log, zscore=zscore, pseudocount=pseudocount,
                                      min_active_frac=min_active_frac,
                                      drop_low_signal=drop_low_signal, transform=transform,
                                      alpha=alpha, stride=src.geometry.stride,
                                      n_genes=G, path=str(signal), count_calls=not count_later)
        count = stats is None and count_later
        keep = np.flatnonzero(st.kept)
        if len(keep) == 0:
            raise TfvocabError("every TF was dropped as low-signal", path=str(signal),
                               hint="lower --min-active-frac or omit --drop-low-signal")
        dropped = [t for t, k in zip(st.tfs, st.kept) if not k]
        attrs = {}
        if "control" in src.attrs:
            attrs["control"] = src.attrs["control"]
        prov = provenance("normalize", params)
        prov["input_provenance"] = src.provenance
        n_masked = 0
        n_obs, n_called = np.zeros(T, np.int64), np.zeros(T, np.int64)
        out_path = outdir / "normalized.h5"
        with step_outputs(outdir, "normalize", params) as out, timed(f"writing {out_path}", logger), \
                formats.NormalizedWriter(out.path("normalized.h5"), genes=src.genes,
                                         tfs=[st.tfs[i] for i in keep], geometry=src.geometry,
                                         stats={}, dropped=dropped,
                                         lineage={"promoters": src.lineage.get("promoters"),
                                                  "signal": src.artifact_id},
                                         attrs=attrs, prov=prov) as w:
            g0 = 0
            for sig, msk, ctl, cmsk in chunks(st.steps.get("control", False), "apply"):
                x, m = apply(sig, msk, st, ctl, cmsk)
                w.write(g0, x[..., keep], m[..., keep])
                n_masked += int(m[..., keep].sum())
                if count:
                    n_obs += (~m).sum(axis=(0, 1))
                    n_called += ((x >= st.z_threshold) & ~m).sum(axis=(0, 1))
                g0 += len(sig)
            if count:
                finish_calls(st, n_obs, n_called)
            elif stats is not None:
                for msg in guard_messages(st):
                    logger.warning("%s", msg)
            # written when the file closes: the stats, the TFs without enrichment, the guard
            w.stats = stats_record(st)
            w.attrs["low_signal_tfs"] = json.dumps([t for t, lo in zip(st.tfs, st.low_signal) if lo])
            w.attrs["suspect_tfs"] = json.dumps([t for t, bad in zip(st.tfs, st.suspect) if bad])
            out.warnings += guard_messages(st)
            w.attrs["normalize_warnings"] = json.dumps(out.warnings)
    Tk = len(keep)
    logger.info("normalized %d genes x %d windows x %d TFs (%d dropped, %.2f%% masked); steps: %s",
                G, W, Tk, len(dropped), 100.0 * n_masked / max(1, G * W * Tk),
                ",".join(s for s in STEPS if st.steps.get(s)) or "none")
    return {"normalized": out_path}


__all__ = ["fit_stats", "fit_stats_chunks", "finish_calls", "apply", "invert", "pre_log",
           "depth_totals", "enrichment", "background_mean", "run"]
