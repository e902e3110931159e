"""The background model of one normalised track: Gamma with mean ``mu`` and variance ``a * mu``.

The pure array functions behind ``normalize``'s enrichment transform (the model, its fit and
what was measured are described in :mod:`tfvocab.data.normalize`'s docstring): the local level of an
input control (:func:`local_control`), the exact upper tail in log space (:func:`log_tail`,
:func:`tail_z`), the screen that limits tail evaluations to the windows that need them
(:func:`screen`), the enrichment z-score (:func:`enrichment_z`), the iteratively trimmed fit of
one TF (:func:`fit_background`) and the guard's figure (:func:`null_excess`). No I/O.
"""
from __future__ import annotations

import functools

import numpy as np

from ..log import get_logger

logger = get_logger("normalize")


Z_MAX = 40.0                 # enrichment z-scores are clipped to [0, Z_MAX]
TRIM_P = 1e-3                # background fit: windows below this p-value (and neighbours) trimmed
INIT_QUANTILE = 0.75         # background fit starts from the windows at or below this quantile
                             # (raised above the share of windows at the track's minimum)
GUARD_BP = 100               # ... within this many bp of such a window
CONTROL_REACH_BP = (100, 250)    # local control level: means over +- these many bp


def reach_windows(stride: int, reach_bp=CONTROL_REACH_BP) -> tuple[int, ...]:
    """Window counts (at least 1) spanning ``reach_bp`` at window ``stride`` (bp)."""
    return tuple(max(1, int(round(r / max(1, int(stride))))) for r in reach_bp)


def box_mean(x: np.ndarray, k: int) -> np.ndarray:
    """Mean over windows ``w - k .. w + k`` (clipped to the promoter) of (g, W) ``x``."""
    g, W = x.shape
    cs = np.zeros((g, W + 1))
    np.cumsum(x, axis=1, out=cs[:, 1:])
    lo = np.clip(np.arange(W) - k, 0, W)
    hi = np.clip(np.arange(W) + k + 1, 0, W)
    return (cs[:, hi] - cs[:, lo]) / (hi - lo)


def local_control(control: np.ndarray, reach: tuple, floor: float | None = None) -> np.ndarray:
    """Local level of a control track: the maximum of the window value, its means over
    ``reach`` windows either side, and ``floor`` (promoter-wide median of the widest mean, or its
    mean when the median is 0; computed from ``control`` when None). ``control`` (g, W), NaN =
    missing (read as 0). Returns float64 (g, W) and the floor used."""
    c = np.nan_to_num(np.asarray(control, np.float64))
    parts = [c] + [box_mean(c, k) for k in reach]
    if floor is None:                 # MACS's genome-wide lambda where most of the control is 0
        floor = float(np.median(parts[-1])) if parts[-1].size else 0.0
        floor = floor if floor > 0 or not parts[-1].size else float(np.mean(parts[-1]))
    return np.maximum(np.maximum.reduce(parts), floor), float(floor)


# ---------------------------------------------------------------- the background tail (exact)
#
# The background of one TF (module docstring) is Gamma with mean ``mu`` and variance ``a * mu``:
# shape k = mu / a, scale a. Its upper tail is evaluated exactly (``scipy.special.gammainc`` /
# ``gammaincc``) and in log space (a continued fraction) below TINY_P, then turned into a normal
# deviate in log space (``ndtri_exp``), so z is exact, finite and monotone at every k and far
# beyond 1e-300. Only windows that can have p < 1/2 get a tail (:func:`screen`).
TINY_P = 1e-280           # below this the tail is evaluated in log space (continued fraction)
NULL_P_MAX = 0.05         # guard: background windows at p <= c for 1e-3 <= c <= NULL_P_MAX ...
NULL_SAMPLE = 20_000      # ... measured on at most this many of the fit's background windows
SCREEN_STEP = 2.0 ** 0.125  # background-mean grid of the screen (9 % steps)
_FPMIN = 1e-300
_EPS = 1e-15


def _gammaincc_cf(k: np.ndarray, y: np.ndarray, max_iter: int = 10_000) -> np.ndarray:
    """The continued fraction h of the regularized upper incomplete gamma, Q(k, y) =
    y^k e^-y / Gamma(k) * h (modified Lentz, relative precision 1e-15; converges for y > k + 1,
    the deep tail; each entry iterated until it converges). float64 (n,) arrays."""
    out = np.empty(len(y))
    idx = np.arange(len(y))
    b = y + 1.0 - k
    c = np.full(len(y), 1.0 / _FPMIN)
    d = 1.0 / b
    h = d.copy()
    for i in range(1, max_iter + 1):
        an = -i * (i - k)
        b = b + 2.0
        d = an * d + b
        d = 1.0 / np.where(np.abs(d) < _FPMIN, _FPMIN, d)
        c = b + an / c
        c = np.where(np.abs(c) < _FPMIN, _FPMIN, c)
        delta = d * c
        h = h * delta
        done = np.abs(delta - 1.0) < _EPS
        if done.any():                      # drop converged entries
            out[idx[done]] = h[done]
            keep = ~done
            idx, k, b, c, d, h = idx[keep], k[keep], b[keep], c[keep], d[keep], h[keep]
            if not len(idx):
                break
    if len(idx):            # the stated range (y > k + 1) makes this unreachable: say so if not
        logger.warning("upper incomplete gamma: %d continued fraction(s) did not converge in %d "
                       "iterations (k %.3g, y %.3g)", len(idx), max_iter, k[0], y[idx[0]])
    out[idx] = h
    return out


def log_tail(x: np.ndarray, mu: np.ndarray, dispersion, quantum=0.0,
             deep: bool = True) -> np.ndarray:
    """log P(background >= x): the exact upper tail of the background Gamma, in log space.

    ``x`` window signal and ``mu`` its background mean (raw track units), ``dispersion`` a
    (variance = a * mu; shape k = mu / a, scale a) and ``quantum`` the data's resolution (arrays
    broadcast together: per-TF values on the last axis): the tail is taken at ``x - quantum / 2``
    (continuity correction for counts), so ``x <= quantum / 2`` - the track's minimum, 0 - gives
    0 (p = 1): never enriched. ``scipy.special.gammainc`` / ``gammaincc``; tails below ``TINY_P``
    from the continued fraction in log space, finite and monotone far beyond 1e-300
    (``deep=False``: -inf where p underflows, enough to compare with a cut). float64, the
    broadcast shape.
    """
    from scipy.special import gammainc, gammaincc, gammaln

    x, mu, a, q = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(mu, np.float64),
                                      np.asarray(dispersion, np.float64),
                                      np.asarray(quantum, np.float64))
    out = np.zeros(x.shape)
    pos = x > 0.5 * q
    if not pos.any():
        return out
    a = np.maximum(a[pos], 1e-12)
    k, y = np.maximum(mu[pos], 1e-12) / a, (x[pos] - 0.5 * q[pos]) / a
    # Q = 1 - P where P <= 0.9 (exact to 1e-15 relative there; scipy's gammaincc takes up to
    # 10 us per value at small k and y, gammainc 0.05 us), gammaincc itself in the upper tail
    with np.errstate(divide="ignore"):
        lp = np.log1p(-np.minimum(gammainc(k, y), 1.0))
        up = ~(lp > np.log(0.1))
        if up.any():
            lp[up] = np.log(gammaincc(k[up], y[up]))
    if deep:
        far = (lp < np.log(TINY_P)) & (y > k + 1.0)
        if far.any():
            kf, yf = k[far], y[far]
            lp[far] = kf * np.log(yf) - yf - gammaln(kf) + np.log(_gammaincc_cf(kf, yf))
    out[pos] = np.minimum(lp, 0.0)
    return out


def tail_z(log_p: np.ndarray) -> np.ndarray:
    """Normal deviate of an upper-tail probability given as ``log p``: ``Phi^-1(1 - p)``
    (``-scipy.special.ndtri_exp``: exact in log space, finite for every finite log p)."""
    from scipy.special import ndtri_exp

    return -ndtri_exp(np.asarray(log_p, np.float64))


@functools.lru_cache(maxsize=8192)
def _critical_table(dispersion: float, quantum: float, mu0: float, log_cut: float,
                    n: int) -> np.ndarray:
    """(n,) signal levels x_j with ``log_tail(x_j, mu0 * SCREEN_STEP**j) >= log_cut`` (bisection
    from below, so every x <= x_j has p >= exp(log_cut) at that background mean or above)."""
    mus = mu0 * SCREEN_STEP ** np.arange(n)
    lo = np.zeros(n)
    hi = mus + 10.0 * np.sqrt(dispersion * mus) + 10.0 * dispersion + quantum
    for _ in range(200):
        over = log_tail(hi, mus, dispersion, quantum, deep=False) >= log_cut
        if not over.any():
            break
        lo = np.where(over, hi, lo)
        hi = np.where(over, 2.0 * hi, hi)
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        ok = log_tail(mid, mus, dispersion, quantum, deep=False) >= log_cut
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    lo.setflags(write=False)
    return lo


def grid_index(ratio: np.ndarray) -> np.ndarray:
    """int64 index j of the screen's grid mean ``mu0 * SCREEN_STEP**j`` at or below
    ``mu = ratio * mu0`` (with a 1e-9 relative margin against rounding; -1 below ``mu0``)."""
    r = np.asarray(ratio, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        j = np.floor(np.log(r * (1.0 - 1e-9)) * (1.0 / np.log(SCREEN_STEP)))
    return np.where(r >= 1.0, np.maximum(np.nan_to_num(j, nan=0.0), 0.0), -1.0).astype(np.int64)


def screen(x: np.ndarray, mu: np.ndarray, dispersion, quantum, log_cut: float, mu0=None,
           grid: np.ndarray | None = None) -> np.ndarray:
    """Bool mask of the windows that may have ``log_tail(x, mu) < log_cut``; every other window
    has p >= exp(log_cut) for certain: the tail rises with ``mu`` and falls with ``x``, so ``x``
    is compared with the critical level (:func:`_critical_table`, cached per TF) at the grid
    mean ``mu0 * SCREEN_STEP**j`` at or below ``mu``. ``dispersion``, ``quantum``, ``mu0`` (the
    smallest background mean; default ``mu.min()``): scalars or per-TF (T,) for (..., T) arrays;
    ``grid``: the index j of each window (:func:`grid_index` of ``mu / mu0``; computed when
    None). Limits the exact tail evaluations to the windows that need them."""
    x = np.asarray(x, np.float64)
    mu = np.asarray(mu, np.float64)
    T = max(np.size(dispersion), np.size(quantum), 1 if mu0 is None else np.size(mu0))
    a = np.broadcast_to(np.asarray(dispersion, np.float64), (T,))
    q = np.broadcast_to(np.asarray(quantum, np.float64), (T,))
    m0 = np.maximum(np.broadcast_to(np.asarray(mu.min() if mu0 is None else mu0, np.float64),
                                    (T,)), 1e-12)
    if grid is None:
        grid = grid_index(np.maximum(mu, 1e-12) / (m0 if T > 1 else m0[0]))
    n = 16 * (int(grid.max(initial=0)) // 16 + 1)
    xc = np.stack([_critical_table(float(a[t]), float(q[t]), float(m0[t]), float(log_cut), n)
                   for t in range(T)])                      # (T, n)
    return (grid < 0) | (x > xc[np.arange(T) if T > 1 else 0, np.maximum(grid, 0)])


def enrichment_z(x: np.ndarray, mu: np.ndarray, dispersion, quantum=0.0, mu0=None,
                 z_floor: float = 0.0, level: np.ndarray | None = None,
                 grid: np.ndarray | None = None) -> np.ndarray:
    """One-sided enrichment z-score of window signal ``x`` over its background (:func:`log_tail`):
    ``Phi^-1(1 - p)`` clipped to ``[0, Z_MAX]``; 0 wherever p >= 1/2 (found by :func:`screen`
    with the smallest background mean ``mu0``; no tail computed there). ``z_floor`` > 0: windows
    whose z is surely below it come back as 0 too (enough to count calls). Parameters as
    :func:`screen` (per-TF on the last axis). ``level`` (int, the shape of ``x``): windows of
    one TF with the same float32 ``x`` and ``level`` have the same ``mu`` (the index of the
    local control level; 0 without control): each such set is evaluated once. float64, the
    shape of ``x``."""
    from scipy.special import log_ndtr

    x = np.asarray(x, np.float64)
    mu = np.broadcast_to(np.asarray(mu, np.float64), x.shape)
    z = np.zeros(x.shape)
    half = -np.log(2.0)
    cand = screen(x, mu, dispersion, quantum, min(half, float(log_ndtr(-z_floor))), mu0, grid)
    if cand.any():
        xs, ms = x[cand], mu[cand]
        T = x.shape[-1] if np.ndim(dispersion) else 1
        tf = np.broadcast_to(np.arange(T), x.shape)[cand] if T > 1 else None
        inv = None
        if level is not None:               # one evaluation per distinct (x, TF, level)
            import pandas as pd

            key = xs.astype(np.float32).view(np.uint32).astype(np.int64)
            if tf is not None:
                key |= tf.astype(np.int64) << 32
            key |= np.asarray(level, np.int64)[cand] << (32 + T.bit_length())
            inv, uniq = pd.factorize(key)
            first = np.empty(len(uniq), np.int64)
            first[inv] = np.arange(len(inv))
            xs, ms = xs[first], ms[first]
            tf = None if tf is None else tf[first]
        a = dispersion if tf is None else np.asarray(dispersion, np.float64)[tf]
        q = quantum if tf is None or not np.ndim(quantum) else np.asarray(quantum, np.float64)[tf]
        lp = log_tail(xs, ms, a, q)
        zc = np.where(lp < half, np.minimum(tail_z(np.minimum(lp, half)), Z_MAX), 0.0)
        z[cand] = zc if inv is None else zc[inv]
    return z


def dilate(b: np.ndarray, k: int) -> np.ndarray:
    """(g, W) bool: True within ``k`` windows (same promoter) of a True."""
    out = b.copy()
    for s in range(1, int(k) + 1):
        out[:, s:] |= b[:, :-s]
        out[:, :-s] |= b[:, s:]
    return out


def fit_background(x: np.ndarray, obs: np.ndarray, ctl: np.ndarray | None, guard: int = 2,
                   trim_p: float = TRIM_P, max_iter: int = 30, tol: float = 1e-3) -> dict:
    """Fit one TF's background model on (g, W) window signal ``x`` (observed where ``obs``).

    ``ctl``: (g, W) local control level (:func:`local_control`) or None. Iterates: ``mu`` =
    ``kappa * ctl`` (``kappa`` = sum of x / sum of ctl over the kept windows) or the kept mean
    ``beta``; dispersion ``a = sum (x - mu)^2 / sum mu`` over kept windows (at least the data's
    resolution ``quantum``); then every window within ``guard`` windows of one with background
    p-value < ``trim_p`` (the exact tail, :func:`log_tail`) is dropped, until fewer than ``tol``
    of the observed windows change. Returns ``kappa`` (NaN without control), ``beta`` (mean
    background per observed window), ``dispersion``, ``quantum``, ``kept_frac`` and
    ``null_excess``, ``null_level`` (:func:`null_excess` of at most ``NULL_SAMPLE`` kept
    windows: <= 1 when the model describes the background; the guard's figure).
    """
    x = np.where(obs, np.nan_to_num(np.asarray(x, np.float64)), 0.0)
    kappa = np.nan
    if not obs.any():
        return {"kappa": kappa, "beta": 0.0, "dispersion": 1.0, "quantum": 0.0, "kept_frac": 0.0,
                "null_excess": 0.0, "null_level": 1.0}
    # start from the windows at or below the INIT_QUANTILE of signal per unit control (heavy
    # binding must not inflate the first dispersion estimate, or nothing is ever trimmed), or
    # 10% above the share of windows at the minimum for sparse tracks (mostly zeros)
    r = x if ctl is None else x / np.maximum(ctl, 1e-300)
    ro = r[obs]
    q0 = min(1.0, max(INIT_QUANTILE, float(np.mean(ro <= ro.min())) + 0.1))
    keep = obs & (r <= np.quantile(ro, q0))
    quantum = data_quantum(x[obs])
    log_trim = np.log(trim_p)
    for _ in range(max_iter):
        if not keep.any():
            keep = obs.copy()
        if ctl is None:
            mu = np.full(x.shape, x[keep].mean())
        else:
            kappa = float(x[keep].sum() / max(ctl[keep].sum(), 1e-300))
            mu = kappa * ctl
        mu = np.maximum(mu, 1e-12)
        a = float(np.sum((x[keep] - mu[keep]) ** 2) / max(np.sum(mu[keep]), 1e-300))
        # a >= the data resolution: counts in units of q have variance >= q * mean
        a = max(a, quantum, 1e-9 * max(float(mu[keep].mean()), 1e-12))
        new = obs & ~dilate(_below(x, mu, a, quantum, log_trim), guard)
        changed = int((new != keep).sum())
        keep = new
        if changed <= tol * obs.sum():
            break
    null = (0.0, 1.0)
    if keep.any():
        i = np.flatnonzero(keep.ravel())
        i = i[np.linspace(0, len(i) - 1, min(len(i), NULL_SAMPLE)).astype(np.int64)]
        null = null_excess(np.exp(log_tail(x.ravel()[i], mu.ravel()[i], a, quantum)))
    return {"kappa": kappa, "beta": float(mu[obs].mean()), "dispersion": a, "quantum": quantum,
            "kept_frac": float(keep.sum() / max(obs.sum(), 1)), "null_excess": null[0],
            "null_level": null[1]}


def null_excess(p: np.ndarray, lo: float = TRIM_P, hi: float = NULL_P_MAX,
                min_count: int = 10) -> tuple[float, float]:
    """How far background p-values ``p`` (n,) are from uniform in the upper tail of z:
    ``max_c P(p <= c) / c`` over the levels ``lo <= c <= hi`` (observed p-values reached by at
    least ``min_count`` windows) and the level c where it is reached; (0, 1) when there is
    none. Under a model that describes the background it is <= 1 (uniform p-values; discrete
    data and the fit's trimming below ``lo`` make them larger); a tail too heavy for the model,
    or an approximation used outside its range, makes it large."""
    p = np.sort(np.asarray(p, np.float64).ravel())
    n = np.searchsorted(p, p, side="right")                  # windows at p <= each observed c
    ok = (p >= lo) & (p <= hi) & (n >= min_count)
    if not ok.any():
        return 0.0, 1.0
    r = np.where(ok, n / max(len(p), 1) / np.maximum(p, 1e-300), 0.0)
    i = int(np.argmax(r))
    return float(r[i]), float(p[i])


def _below(x: np.ndarray, mu: np.ndarray, a: float, q: float, log_cut: float) -> np.ndarray:
    """Bool: windows whose background p-value is below exp(``log_cut``) (screened, exact)."""
    out = screen(x, mu, a, q, log_cut)
    if out.any():
        out[out] = log_tail(x[out], mu[out], a, q, deep=False) < log_cut
    return out


def data_quantum(x: np.ndarray, max_values: int = 100_000) -> float:
    """The signal's resolution: smallest positive gap between distinct values (of at most
    ``max_values`` of them), e.g. 0.2 for means of 5 integer-coverage bins; 0 when the values
    are continuous (more than ``max_values`` distinct) or all equal. Used as a continuity
    correction: a window's tail probability is evaluated at ``x - quantum / 2``."""
    u = np.unique(np.asarray(x, np.float64))
    if len(u) < 2 or len(u) > max_values:
        return 0.0
    return float(np.diff(u).min())
