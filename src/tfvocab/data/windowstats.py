"""From a track's records to per-window statistics (pure array functions, no I/O).

``extract`` reads a chromosome's records (``starts``, ``ends``, ``values``: a reader's output,
:mod:`tfvocab.data.trackreaders`) and hands them here:

* what a track's values may be: :func:`screen_records` splits off non-finite records (bases
  without data) and counts values below 0; :func:`signed_track_error` and
  :func:`nonfinite_error` word the refusals; :func:`track_health` / :func:`health_line` the
  per-track health for the manifest, the log and the report;
* window statistics by prefix sums over the records: mean and max (:func:`window_stats`), the
  signal centre of mass (:func:`window_com`), over the distinct window boundaries
  (:func:`window_points`) and range maxima (:func:`range_max`).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ..errors import TfvocabError


#: A track whose non-finite records (no data) touch more than this fraction of its windows is
#: refused instead of extracted as mostly zeros
MAX_NONFINITE_WINDOW_FRACTION = 0.5


# --------------------------------------------------------------------------------------------
# record values: what a track's values may be (pure array functions)
# --------------------------------------------------------------------------------------------
def in_spans(starts: np.ndarray, ends: np.ndarray, spans: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Bool (n,): True where the interval ``[starts, ends)`` (int64 (n,), bp) overlaps one of
    ``spans`` (sorted disjoint ``(lo, hi)`` int64 arrays, bp). O(n log spans)."""
    lo, hi = spans
    j = np.searchsorted(lo, ends, side="left") - 1              # last span starting before the end
    return (j >= 0) & (hi[np.maximum(j, 0)] > starts)


def finite_records(starts: np.ndarray, ends: np.ndarray, values: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The records whose value is finite: ``starts``, ``ends`` int64 (m,), ``values`` (m,).

    Returns the inputs themselves when every value is finite (two reductions, no copy), so a
    NaN or +-inf record is a run of bases without data and never reaches a prefix sum.
    """
    if values.size == 0 or (np.isfinite(values.min()) and np.isfinite(values.max())):
        return starts, ends, values
    keep = np.isfinite(values)
    return starts[keep], ends[keep], values[keep]


def screen_records(starts: np.ndarray, ends: np.ndarray, values: np.ndarray,
                   spans: tuple[np.ndarray, np.ndarray] | None = None):
    """Split one chromosome's records (a reader's output) into data and what is not data.

    ``starts``, ``ends`` int64 (n,) bp, ``values`` float32 (n,) as stored; ``spans``: the
    promoter windows' union (sorted disjoint ``(lo, hi)``, bp) over which records are counted
    (every reader reads at least those records, so the counts do not depend on the reader;
    None: all records). Returns ``(starts, ends, values, bad, counts)``:

    * the finite records (the inputs themselves when every value is finite and >= 0: the
      usual case costs two reductions);
    * ``bad``: ``(starts, ends)`` int64 of the non-finite records overlapping ``spans`` (for
      the windows they touch), or None;
    * ``counts``: None in the usual case, else a dict over the records overlapping ``spans``:
      ``records``, ``nan``, ``posinf``, ``neginf``, ``negative`` (finite values < 0) and
      ``min`` (their smallest finite value, or None).
    """
    if values.size == 0:
        return starts, ends, values, None, None
    lo, hi = values.min(), values.max()
    if np.isfinite(lo) and np.isfinite(hi) and lo >= 0:
        return starts, ends, values, None, None
    over = np.ones(values.size, bool) if spans is None else in_spans(starts, ends, spans)
    v = values[over]
    finite = np.isfinite(v)
    counts = {"records": int(v.size), "nan": int(np.isnan(v).sum()),
              "posinf": int(np.isposinf(v).sum()), "neginf": int(np.isneginf(v).sum()),
              "negative": int((v[finite] < 0).sum()),
              "min": float(v[finite].min()) if finite.any() else None}
    nf = ~np.isfinite(values) & over
    bad = (starts[nf], ends[nf]) if nf.any() else None
    return (*finite_records(starts, ends, values), bad, counts)


def signed_track_error(counts: Mapping, path: str, chrom: str) -> TfvocabError:
    """The one-line refusal of a track with values below 0 (``counts`` of :func:`screen_records`)."""
    n = counts["negative"] + counts["neginf"]
    low = f"minimum {counts['min']:g}" if counts["min"] is not None and counts["min"] < 0 else ""
    inf = f"{counts['neginf']:,} are -inf" if counts["neginf"] else ""
    detail = "; ".join(x for x in (low, inf) if x)
    return TfvocabError(
        f"{n:,} of {counts['records']:,} records over promoters are below 0 ({detail}): a "
        "log-ratio, ratio or subtracted track (bigwigCompare, MACS2 bdgcmp), not coverage",
        path=path, record=f"chromosome {chrom}",
        hint="normalize expects coverage >= 0 (raw or CPM/RPKM/RPGC/BPM-scaled, as bamCoverage "
             "writes it) or peak calls (--peaks): extract the treatment's coverage bigWig and give "
             "the input bigWig as its samplesheet control; docs/inputs.md, Track kinds")


def nonfinite_error(path: str, per_chrom: Mapping[str, Mapping], touched: int, usable: int
                    ) -> TfvocabError:
    """The one-line refusal of a track whose NaN / +inf records touch most of its windows."""
    nf = {c: v.get("nan_records", 0) + v.get("posinf_records", 0) for c, v in per_chrom.items()}
    worst = max(nf, key=nf.get)
    total = sum(nf.values())
    return TfvocabError(
        f"{total:,} NaN/+inf records over promoters ({nf[worst]:,} on this chromosome) touch "
        f"{touched:,} of {usable:,} windows ({touched / max(usable, 1):.0%}, more than "
        f"{MAX_NONFINITE_WINDOW_FRACTION:.0%}): the track is mostly undefined values",
        path=path, record=f"chromosome {per_chrom[worst].get('bigwig_chrom') or worst}",
        hint="a ratio of two tracks (x/0 = +inf, 0/0 = NaN) is not coverage: extract the treatment's "
             "coverage bigWig with the input as its control; a converter that writes NaN for bases "
             "without data should leave them out instead (docs/inputs.md, Track kinds)")


def track_health(mx: np.ndarray, mask: np.ndarray, nan_records: int = 0, posinf_records: int = 0,
                 nonfinite_windows: int = 0) -> dict:
    """Per-track health for the manifest and the report.

    ``mx`` float32 (G, W) window maxima (NaN where masked), ``mask`` bool (G, W); NaN / +inf
    record counts over the promoters and ``nonfinite_windows``, the windows (not masked) that
    such records touch. Returns ``windows``, ``masked_windows``, ``masked_fraction``,
    ``nan_records``, ``posinf_records``, ``nonfinite_windows``, ``lost_fraction``
    ((masked + touched) / windows), ``promoters``, ``promoters_with_signal`` (an unmasked window
    with signal > 0) and ``promoters_with_signal_fraction``.
    """
    G, W = mask.shape
    n = max(G * W, 1)
    masked = int(mask.sum())
    signal = int((np.nan_to_num(mx, nan=0.0) > 0).any(axis=1).sum()) if G and W else 0
    return {"windows": int(G * W), "masked_windows": masked, "masked_fraction": round(masked / n, 6),
            "nan_records": int(nan_records), "posinf_records": int(posinf_records),
            "nonfinite_windows": int(nonfinite_windows),
            "lost_fraction": round((masked + int(nonfinite_windows)) / n, 6),
            "promoters": int(G), "promoters_with_signal": signal,
            "promoters_with_signal_fraction": round(signal / max(G, 1), 6)}


def health_line(name: str, h: Mapping) -> str:
    """One line of :func:`track_health` for the log."""
    nf = h["nan_records"] + h["posinf_records"]
    return (f"health {name}: {h['masked_windows']:,} of {h['windows']:,} windows masked "
            f"({h['masked_fraction']:.1%}); {nf:,} non-finite records (NaN {h['nan_records']:,}, "
            f"+inf {h['posinf_records']:,}) touching {h['nonfinite_windows']:,} windows; signal in "
            f"{h['promoters_with_signal_fraction']:.1%} of {h['promoters']:,} promoters")


# --------------------------------------------------------------------------------------------
# window statistics (pure array functions)
# --------------------------------------------------------------------------------------------
def window_points(wstarts: np.ndarray, wends: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct window boundaries: ``points`` int64 (P,) sorted, and ``ia``, ``ib`` intp (N,)
    with ``points[ia] == wstarts`` and ``points[ib] == wends`` (adjacent windows share a point,
    so P ~ N + genes for stride == width)."""
    pts, inv = np.unique(np.concatenate([wstarts, wends]), return_inverse=True)
    inv = inv.astype(np.intp, copy=False)
    return pts, inv[:wstarts.size], inv[wstarts.size:]


def window_stats(starts: np.ndarray, ends: np.ndarray, values: np.ndarray, wstarts: np.ndarray,
                 wends: np.ndarray, want_uncovered: bool = False,
                 points: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None):
    """Mean and max of a piecewise-constant signal over half-open windows ``[wstarts, wends)``.

    Signal: records ``starts``, ``ends`` int64 (n,) (bp, sorted, non-overlapping, non-empty)
    with ``values`` float32 (n,); bases outside every record, and those of a record whose value
    is NaN or +-inf (:func:`finite_records`), have no data and count as 0, so one non-finite
    record never reaches the prefix sums. Windows: ``wstarts``, ``wends`` int64 (N,),
    ``wstart < wend``, any order and overlap.
    ``points``: optional precomputed :func:`window_points` ``(wstarts, wends)`` (it depends on
    the windows only, so it is computed once for all bigWigs).

    Returns ``mean`` float64 (N,) (sum / width), ``max`` float64 (N,) and, with
    ``want_uncovered``, bool (N,) True where no base of the window has data (else None).

    Cost O(n + P log n) over the P distinct window boundaries, no per-base array. At each
    boundary ``x``, ``j`` = first record ending after ``x`` and ``F(x)`` = signal mass of the
    bases ``< x`` = ``mass[j] + values[j] * max(0, x - starts[j])`` (``mass``: float64 prefix
    sum of ``length * value``); a window's sum is ``F(end) - F(start)`` (exactly 0 over
    zero-valued records), its covered length the same with values 1. Maxima: per elementary
    segment between consecutive boundaries by one ``np.maximum.reduceat`` over the records,
    then per window over its segments (one segment each when stride == width); at least 0
    when a base is uncovered (covered length < width; only computed when values can be < 0).
    """
    N = wstarts.size
    if N == 0:
        empty = np.zeros(0)
        return empty, empty.copy(), (np.zeros(0, bool) if want_uncovered else None)
    if points is None:
        points = window_points(wstarts, wends)
    pts, ia, ib = points
    width = wends - wstarts
    starts, ends, values = finite_records(starts, ends, values)
    n = starts.size
    need_cov = want_uncovered or (n > 0 and bool(values.min() < 0))
    if n == 0:
        mean = np.zeros(N)
        return mean, mean.copy(), (np.ones(N, dtype=bool) if want_uncovered else None)
    mass = np.empty(n + 1)                                 # mass[j]: sum over records < j of len * value
    mass[0] = 0.0
    np.subtract(ends, starts, out=mass[1:], casting="unsafe")           # record lengths (exact)
    if need_cov:
        cov = np.empty(n + 1)                              # cov[j]: bases covered by records < j
        cov[0] = 0.0
        np.cumsum(mass[1:], out=cov[1:])
    np.multiply(mass[1:], values, out=mass[1:])
    np.cumsum(mass, out=mass)
    # at every boundary x: j = first record ending after x (n: none)
    j = np.searchsorted(ends, pts, side="right")
    jc = np.minimum(j, n - 1)
    inside = starts[jc] < pts                              # record j starts before x (so j < n)
    inside &= j < n
    part = np.where(inside, pts - starts[jc], 0)           # bases of record j before x
    f = mass[j] + values[jc] * part
    mean = f[ib] - f[ia]
    mean /= width
    # segment p = [pts[p], pts[p+1]) overlaps records j[p] .. j[p+1] - 1, plus j[p+1] if inside
    lo, hi = j[:-1], j[1:]
    seg = np.maximum.reduceat(values, jc)[:-1]            # max(values[lo:hi]) when lo < hi < n
    empty = lo == hi
    seg[empty] = -np.inf
    np.maximum(seg, values[n - 1], out=seg, where=(hi == n) & ~empty)   # jc clipped hi = n to n - 1
    tail = inside[1:]
    np.maximum(seg, values[jc[1:]], out=seg, where=tail)
    seg[empty & ~tail] = 0.0                               # no record in the segment
    maxs = range_max(seg, ia, ib).astype(np.float64)
    uncovered = None
    if need_cov:
        c = cov[j] + part
        covered = c[ib] - c[ia]
        np.maximum(maxs, 0.0, out=maxs, where=covered < width)
        if want_uncovered:
            uncovered = covered == 0
    return mean, maxs, uncovered


def window_com(starts: np.ndarray, ends: np.ndarray, values: np.ndarray, wstarts: np.ndarray,
               wends: np.ndarray, points: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
               ) -> np.ndarray:
    """Signal centre of mass of each window, in bp from the window start (genomic orientation).

    Same inputs as :func:`window_stats`. Returns float64 (N,) in ``[0, width]``: the mean base
    centre (``b + 0.5``) weighted by the per-base signal, NaN where the window holds no positive
    mass. Negative values are clipped to 0 first (a centre of mass needs non-negative weights);
    non-finite records are bases without data (:func:`finite_records`).

    Prefix sums over the records of the mass ``F0(x)`` and of the first moment
    ``F1(x) = sum_{b < x} b v_b`` (float64; a record ``[s, e)`` of value ``v`` contributes
    ``v (s + e - 1) (e - s) / 2``), evaluated at the window boundaries as in
    :func:`window_stats`; the moment about the window start is
    ``F1(we) - F1(ws) - ws (F0(we) - F0(ws))``. Cost O(n + P log n).
    """
    N = wstarts.size
    out = np.full(N, np.nan)
    starts, ends, values = finite_records(starts, ends, values)
    if N == 0 or starts.size == 0:
        return out
    if points is None:
        points = window_points(wstarts, wends)
    pts, ia, ib = points
    v = np.maximum(values.astype(np.float64), 0.0)
    n = starts.size
    s64, e64 = starts.astype(np.float64), ends.astype(np.float64)
    m0 = np.zeros(n + 1)
    m1 = np.zeros(n + 1)
    np.cumsum(v * (e64 - s64), out=m0[1:])
    np.cumsum(v * (s64 + e64 - 1.0) * (e64 - s64) * 0.5, out=m1[1:])
    j = np.searchsorted(ends, pts, side="right")
    jc = np.minimum(j, n - 1)
    inside = (starts[jc] < pts) & (j < n)
    k = np.where(inside, pts - starts[jc], 0).astype(np.float64)       # bases of record j before x
    f0 = m0[j] + v[jc] * k
    f1 = m1[j] + v[jc] * (s64[jc] + pts - 1.0) * k * 0.5
    mass = f0[ib] - f0[ia]
    mom = (f1[ib] - f1[ia]) - wstarts.astype(np.float64) * mass
    ok = mass > 1e-12 * np.maximum(1.0, np.abs(f0[ib]))
    out[ok] = mom[ok] / mass[ok] + 0.5
    return np.clip(out, 0.0, (wends - wstarts).astype(np.float64))


def range_max(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``max(x[lo[i]:hi[i]])`` for every i: ``x`` (P,), ``lo < hi`` intp (N,), any order.

    Sparse table over the powers of two up to the longest range (one level when every range
    has length 1): O(P log K + N) for ranges of at most K elements.
    """
    span = hi - lo
    longest = int(span.max()) if span.size else 1
    out = x[lo]
    if longest == 1:
        return out
    level, width = x, 1
    while 2 * width <= longest:
        nxt = level.copy()
        np.maximum(level[:-width], level[width:], out=nxt[:-width])
        level, width = nxt, 2 * width
        sel = span >= width                                # ranges that use this level
        top = np.where(sel, hi - width, lo)
        np.maximum(out, np.where(sel, np.maximum(level[lo], level[top]), out), out=out)
    return out
