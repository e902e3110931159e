"""DAP-seq-like coverage tracks: peaks on planted sites, noisy background, input-control bias.

Tracks are arrays of per-bin coverage over fixed ``bin_size`` bins (bin ``i`` covers
``[i*bin_size, (i+1)*bin_size)`` bp; the last bin may be shorter). Model, per TF ``t`` and bin::

    expected(x) = depth_t * (bg_rate * bias(x) + sum_sites height_s * exp(-(x - c_s)^2 / (2 sd_s^2)))
    coverage(x) ~ Poisson(expected(x))

``bias(x) >= 1`` is shared with the input control (``depth_in * in_rate * bias(x)``): broad elevated
domains (x2-5 over 5-50 kb) and short "sticky" regions (x10-40 over 300-1,000 bp, some inside
promoters) that look like peaks in every TF track, so control subtraction matters.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def n_bins(length: int, bin_size: int) -> int:
    """Number of bins covering ``length`` bp (last one possibly partial)."""
    return -(-int(length) // int(bin_size))


def peak_track(length: int, centers: np.ndarray, heights: np.ndarray, sd, bin_size: int = 10,
               reach: float = 4.0) -> np.ndarray:
    """Sum of Gaussian peaks evaluated at bin centres: float64 array (n_bins,).

    ``centers`` (n,) bp, ``heights`` (n,) peak maxima (coverage units), ``sd`` scalar or (n,) bp.
    Each peak is evaluated within ``reach`` sd of its centre; fully vectorised (one bincount).
    """
    nb = n_bins(length, bin_size)
    centers = np.asarray(centers, dtype=np.float64)
    if centers.size == 0:
        return np.zeros(nb)
    heights = np.asarray(heights, dtype=np.float64)
    sd = np.broadcast_to(np.asarray(sd, dtype=np.float64), centers.shape)
    half = int(np.ceil(reach * sd.max() / bin_size)) + 1
    k = np.arange(-half, half + 1)
    cbin = np.floor(centers / bin_size).astype(np.int64)
    bins = cbin[:, None] + k[None, :]                                    # (n, 2*half+1)
    mid = (bins + 0.5) * bin_size
    vals = heights[:, None] * np.exp(-0.5 * ((mid - centers[:, None]) / sd[:, None]) ** 2)
    ok = (bins >= 0) & (bins < nb)
    return np.bincount(bins[ok], weights=vals[ok], minlength=nb)


def bias_regions(rng: np.random.Generator, chroms: dict, broad_per_mb: float, sticky_per_mb: float,
                 promoter_centres: pd.DataFrame | None = None, promoter_frac: float = 0.0) -> pd.DataFrame:
    """Elevated input regions: ``chrom, start, end, fold, kind`` (kind broad / sticky).

    ``promoter_centres`` (chrom, pos): candidate positions for extra sticky regions placed in a
    fraction ``promoter_frac`` of promoters.
    """
    rows = []
    for c, ln in chroms.items():
        nb = rng.poisson(broad_per_mb * ln / 1e6)
        w = rng.integers(5_000, 50_000, size=nb)
        s = rng.integers(0, max(1, ln - 50_000), size=nb)
        rows += [(c, int(a), int(min(ln, a + b)), float(f), "broad")
                 for a, b, f in zip(s, w, rng.uniform(2, 5, size=nb))]
        ns = rng.poisson(sticky_per_mb * ln / 1e6)
        w = rng.integers(300, 1000, size=ns)
        s = rng.integers(0, max(1, ln - 1000), size=ns)
        rows += [(c, int(a), int(a + b), float(f), "sticky")
                 for a, b, f in zip(s, w, rng.uniform(10, 40, size=ns))]
    if promoter_centres is not None and len(promoter_centres) and promoter_frac > 0:
        pick = promoter_centres.iloc[np.sort(rng.choice(len(promoter_centres),
                                                        size=int(round(promoter_frac * len(promoter_centres))),
                                                        replace=False))]
        w = rng.integers(300, 1000, size=len(pick))
        for (c, p), ww, f in zip(pick[["chrom", "pos"]].itertuples(index=False), w,
                                 rng.uniform(10, 40, size=len(pick))):
            a = max(0, int(p) - int(ww) // 2)
            rows.append((c, a, min(chroms[c], a + int(ww)), float(f), "sticky"))
    df = pd.DataFrame(rows, columns=["chrom", "start", "end", "fold", "kind"])
    df["fold"] = df.fold.round(3)
    return df.sort_values(["chrom", "start", "end"], ignore_index=True)


def bias_track(length: int, regions: pd.DataFrame, bin_size: int = 10) -> np.ndarray:
    """Multiplicative bias per bin (>= 1; overlapping regions take the max): float64 (n_bins,)."""
    nb = n_bins(length, bin_size)
    bias = np.ones(nb)
    for a, b, f in regions[["start", "end", "fold"]].itertuples(index=False):
        i0, i1 = int(a) // bin_size, n_bins(int(b), bin_size)
        np.maximum(bias[i0:i1], f, out=bias[i0:i1])
    return bias


def coverage(rng: np.random.Generator, expected: np.ndarray) -> np.ndarray:
    """Poisson counts around ``expected`` (n_bins,): float64 (what pyBigWig stores)."""
    return rng.poisson(expected).astype(np.float64)


def write_bigwig(path: str | Path, chroms: dict, tracks, bin_size: int = 10) -> None:
    """Write per-bin tracks to a bigWig (fixed-step spans of ``bin_size``; last bin clipped).

    ``chroms``: ordered {name: length}; ``tracks``: iterable of (chrom, array (n_bins,)) in the
    same order (arrays may be produced lazily, one chromosome at a time).
    """
    import pyBigWig

    bw = pyBigWig.open(str(path), "w")
    try:
        bw.addHeader([(c, int(n)) for c, n in chroms.items()], maxZooms=10)
        for chrom, values in tracks:
            ln = chroms[chrom]
            full = ln // bin_size
            vals = np.ascontiguousarray(values, dtype=np.float64)
            if full:
                bw.addEntries(chrom, 0, values=vals[:full], span=bin_size, step=bin_size)
            if ln % bin_size:
                bw.addEntries([chrom], [full * bin_size], ends=[ln], values=[float(vals[full])])
    finally:
        bw.close()
