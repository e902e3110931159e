"""Per-window bigWig signal over promoters: ``tfvocab extract`` (one ``signal.<tf>.h5`` per bigWig).

Geometry comes from :mod:`tfvocab.coords`: windows of ``window`` bp every ``stride`` bp, anchored
at the start codon, offsets ``-upstream .. +downstream`` (inferred from ``promoters.tsv``,
default 2000/500), listed 5'->3' in the gene's orientation (minus-strand promoters reversed).

Per window and TF two numbers are written, both float32:

* ``mean``: sum of the per-base signal over the window's bases / window width. **Bases without
  data count as 0** ("missing as zero", as deepTools ``computeMatrix --missingDataAsZero``):
  for DAP-seq an uncovered base is an unbound base, so a window without any data is a real 0.
* ``max``: maximum per-base signal over the window's bases, also with uncovered bases as 0.

A window is *missing* (``NaN`` in ``mean``/``max`` and ``mask`` True) when

* its chromosome is absent from the bigWig (after name harmonisation, :mod:`tfvocab.data.chroms`), or
* it lies, even partly, off the chromosome: before base 0, past the bigWig's chromosome length,
  or (for ``clipped`` promoters) outside the promoter interval clipped by ``promoters``;
* and, only with ``mask_uncovered=True``, when none of its bases has data in the bigWig.

**Values** (a track is coverage: read counts or scaled coverage, >= 0; :func:`screen_records`,
counted over the records that overlap a promoter window, so every reader counts the same):

* a NaN or +inf record is a run of bases **without data** (as if the record were absent: 0 by
  default, uncovered for ``mask_uncovered``), so every finite base still counts exactly; the
  records and the windows they touch are counted (``health``) and warned about. When they touch
  more than :data:`MAX_NONFINITE_WINDOW_FRACTION` of the track's windows the track is refused
  (it is mostly undefined values: most often a ratio of two tracks, x/0 = +inf, 0/0 = NaN);
* a value below 0 (-inf included) is refused with a one-line error naming the file, the
  chromosome and the record count: a log-ratio (bigwigCompare ``--operation log2``), ratio or
  subtracted track is not coverage, and ``normalize`` fits a background model of coverage
  (see docs/inputs.md, "Track kinds").

Each ``signal.<tf>.h5`` and extract's manifest carry the track's **health** (:func:`track_health`):
windows masked, non-finite records seen and the windows they touch, the fraction of promoters
with any signal.

Speed: a bigWig is read as its records (piecewise-constant runs: ``starts``, ``ends``,
``values`` arrays, one chromosome at a time), never at base resolution. The default ``native``
reader (:mod:`tfvocab.data.bigwig`, numpy + zlib) decodes only the data blocks that overlap a
promoter window; all windows of a chromosome are then reduced at once by
:func:`window_stats` (float64 prefix sums of record mass evaluated at the window boundaries
with ``searchsorted``, ``np.maximum.reduceat`` for maxima): O(records + windows log records),
no Python loop over genes or windows; memory does not grow with the number of TFs. The ``pybigtools`` and ``pyBigWig`` readers return the same records through the
libraries (slower: Python tuples); every reader gives identical outputs.

Peak calls (``--peaks``: narrowPeak / broadPeak / BED, ``.gz`` ok) are read by
:class:`tfvocab.data.peaks.PeakTrack` into the same records (each peak's signalValue over its
interval, 0 elsewhere), so they give the same window tensor; their chromosome names are
harmonised like a bigWig's, and a promoter chromosome without any peak is all zero (warned),
not missing. ``--samplesheet`` extracts every track the sheet names (its TFs' bigWigs or peak
files and its controls, :func:`tfvocab.data.samplesheet.tracks`) in one call.

The readers are in :mod:`tfvocab.data.trackreaders`, the value policy, health and window statistics
(pure array functions) in :mod:`tfvocab.data.windowstats`; this module is the step: the window
layout of the promoters, one track's extraction and the run over every track.
"""
from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .. import coords
from ..errors import TfvocabError
from ..formats import Geometry, digest, write_track
from ..io import provenance
from ..log import get_logger, progress, timed
from ..formats import read_promoters
from ..publish import step_outputs
from .trackreaders import DEFAULT_READER, BigWigReader, open_track
from .windowstats import (MAX_NONFINITE_WINDOW_FRACTION, health_line, nonfinite_error,
                          screen_records, signed_track_error, track_health, window_com,
                          window_points, window_stats)

log = get_logger("extract")

_TF_NAME = re.compile(r"^[A-Za-z0-9_.+\-]+$")


# --------------------------------------------------------------------------------------------
# promoters.tsv
# --------------------------------------------------------------------------------------------
def infer_flanks(df: pd.DataFrame) -> tuple[int, int]:
    """``(upstream, downstream)`` bp used to build ``promoters.tsv``, from its unclipped rows.

    ``+``: upstream = start_codon - start, downstream = end - 1 - start_codon; ``-`` mirrored.
    Falls back to the defaults of :mod:`tfvocab.coords` when ``start``/``end`` are absent; takes
    the most common value (with a warning) if rows disagree.
    """
    if not {"start", "end"} <= set(df.columns):
        return coords.UPSTREAM, coords.DOWNSTREAM
    ok = ~df["clipped"].to_numpy()
    if not ok.any():
        return coords.UPSTREAM, coords.DOWNSTREAM
    sc, st, en = (df[c].to_numpy()[ok] for c in ("start_codon", "start", "end"))
    minus = df["strand"].to_numpy()[ok] == "-"
    up = np.where(minus, en - 1 - sc, sc - st)
    down = np.where(minus, sc - st, en - 1 - sc)
    vals = []
    for arr, name in ((up, "upstream"), (down, "downstream")):
        u, n = np.unique(arr, return_counts=True)
        if len(u) > 1:
            log.warning("promoters.tsv: %s flank differs between genes (%s); using the most common, %d bp",
                        name, ", ".join(map(str, u[:5])), u[n.argmax()])
        vals.append(int(u[n.argmax()]))
    if vals[0] < 0 or vals[1] < 0:
        raise TfvocabError(f"promoter intervals do not contain their start codon "
                           f"(upstream {vals[0]}, downstream {vals[1]})", record="start/end columns")
    return vals[0], vals[1]


# --------------------------------------------------------------------------------------------
# one bigWig
# --------------------------------------------------------------------------------------------
@dataclass
class Layout:
    """Window geometry of all promoters, grouped by promoter chromosome.

    ``offsets`` (W,) window start offsets; ``width`` bp; per promoter chromosome ``rows`` (g,)
    gene indices, ``starts``/``ends`` (g, W) genomic windows; ``inside`` (g, W) False where a
    clipped promoter's window leaves the clipped interval; ``spans`` the union of the windows
    (:func:`merged_spans`: only bigWig blocks overlapping it are read); ``points`` the
    distinct window boundaries (:func:`window_points` of the flattened windows).
    """

    genes: list[str]
    offsets: np.ndarray
    width: int
    upstream: int
    downstream: int
    chroms: dict[str, dict] = field(default_factory=dict)
    stride: int = coords.STRIDE
    promoters_digest: str = ""

    @property
    def geometry(self) -> Geometry:
        return Geometry(self.upstream, self.downstream, self.width, self.stride)


def make_layout(df: pd.DataFrame, width: int, stride: int, upstream: int, downstream: int) -> Layout:
    """Window geometry of every promoter of ``df`` (see :class:`Layout`)."""
    try:
        offsets = coords.window_offsets(upstream, downstream, width, stride)
    except ValueError as exc:
        raise TfvocabError(str(exc), hint="check --window / --stride") from None
    lay = Layout(genes=df["gene_id"].tolist(), offsets=offsets, width=width,
                 upstream=upstream, downstream=downstream, stride=stride,
                 promoters_digest=df.attrs.get("digest", ""))
    chrom = df["chrom"].to_numpy()
    for c in dict.fromkeys(chrom):
        rows = np.flatnonzero(chrom == c)
        sub = df.iloc[rows]
        starts, ends = coords.window_intervals(sub["start_codon"].to_numpy(), sub["strand"].to_numpy(),
                                               offsets, width)
        inside = np.ones(starts.shape, dtype=bool)
        if {"start", "end"} <= set(df.columns):
            clipped = sub["clipped"].to_numpy()[:, None]
            lo = sub["start"].to_numpy()[:, None]
            hi = sub["end"].to_numpy()[:, None]
            inside = ~clipped | ((starts >= lo) & (ends <= hi))
        order = np.argsort(starts.ravel(), kind="stable")
        lay.chroms[c] = {"rows": rows, "starts": starts, "ends": ends, "inside": inside,
                         "minus": sub["strand"].to_numpy() == "-",
                         "spans": merged_spans(starts.ravel()[order], ends.ravel()[order]),
                         "points": window_points(starts.ravel(), ends.ravel())}
    return lay


def merged_spans(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union of half-open intervals as sorted disjoint ``(lo, hi)`` int64 arrays (bp).

    ``starts``, ``ends``: int64 (N,) sorted by start. Touching intervals are merged.
    """
    if starts.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    reach = np.maximum.accumulate(ends)
    new = np.ones(starts.size, dtype=bool)
    new[1:] = starts[1:] > reach[:-1]
    first = np.flatnonzero(new)
    last = np.append(first[1:] - 1, starts.size - 1)
    return starts[first], reach[last]


def extract_track(bw: BigWigReader, layout: Layout, mapping: dict[str, str],
                  mask_uncovered: bool = False, com: bool = False) -> dict:
    """Window means/maxes of one bigWig over all promoters.

    With ``com`` also ``com`` float32 (G, W): each window's signal centre of mass
    (:func:`window_com`) in bp from the window's 5' end in the gene's orientation (NaN where
    masked or without signal).

    ``mapping``: promoter chromosome -> bigWig chromosome (unmapped ones are masked). One
    chromosome's records are held at a time (memory ~ 20 bytes x records of the largest
    chromosome, independent of the number of bigWigs). Returns ``mean``, ``max`` float32
    (G, W) (NaN where masked), ``mask`` bool (G, W) and a ``stats`` dict (per-chromosome
    masked and non-finite counts, the track's ``health`` (:func:`track_health`), seconds
    reading records and computing windows).

    Values follow the module's policy (:func:`screen_records`): NaN / +inf records are bases
    without data (counted); a value below 0 raises :class:`TfvocabError` at the first
    chromosome holding one, and so do non-finite records touching more than
    :data:`MAX_NONFINITE_WINDOW_FRACTION` of the usable windows.
    """
    G, W = len(layout.genes), layout.offsets.size
    mean = np.full((G, W), np.nan, dtype=np.float32)
    mx = np.full((G, W), np.nan, dtype=np.float32)
    mask = np.ones((G, W), dtype=bool)
    cm = np.full((G, W), np.nan, dtype=np.float32) if com else None
    per_chrom = {}
    t_read = t_win = 0.0
    usable = 0                                             # windows on a mapped chromosome's bases
    for c, geo in progress(layout.chroms.items(), desc=f"{Path(bw.path).name}", total=len(layout.chroms),
                           unit="chrom"):
        n_windows = geo["starts"].size
        if c not in mapping:
            per_chrom[c] = {"bigwig_chrom": None, "genes": int(geo["rows"].size),
                            "masked_windows": int(n_windows), "reason": "chromosome absent from bigWig"}
            continue
        target = mapping[c]
        length = bw.chroms[target]
        starts, ends = geo["starts"], geo["ends"]
        ok = geo["inside"] & (starts >= 0) & (ends <= length)
        t0 = time.perf_counter()
        rs, re_, rv = bw.intervals(target, geo["spans"])
        rs, re_, rv, bad, counts = screen_records(rs, re_, rv, geo["spans"])
        if counts is not None and counts["negative"] + counts["neginf"]:
            raise signed_track_error(counts, bw.path, target)
        t1 = time.perf_counter()
        okf = ok.ravel()
        pts, ia, ib = geo["points"]
        all_ok = bool(okf.all())
        if all_ok:
            ws, we = starts.ravel(), ends.ravel()
        else:
            ws, we = starts.ravel()[okf], ends.ravel()[okf]
            ia, ib = ia[okf], ib[okf]
        m, x, unc = window_stats(rs, re_, rv, ws, we, want_uncovered=mask_uncovered, points=(pts, ia, ib))
        if com:
            cw = window_com(rs, re_, rv, ws, we, points=(pts, ia, ib))
            flip = np.broadcast_to(geo["minus"][:, None], starts.shape).ravel()
            flip = flip if all_ok else flip[okf]
            cw = np.where(flip, (we - ws) - cw, cw)
            cw[np.isnan(m)] = np.nan
        touched = 0
        if bad is not None:                                # windows with a base of a NaN/+inf record
            hit = window_stats(*bad, np.ones(bad[0].size, np.float32), ws, we, points=(pts, ia, ib))[0] > 0
            touched = int((hit & ~unc).sum() if mask_uncovered else hit.sum())
        usable += int(okf.sum())
        del rs, re_, rv
        t_win += time.perf_counter() - t1
        t_read += t1 - t0
        if mask_uncovered:
            m[unc] = np.nan
            x[unc] = np.nan
        if all_ok:
            rows = geo["rows"]
            mean[rows] = m.reshape(rows.size, W)
            mx[rows] = x.reshape(rows.size, W)
            mask[rows] = np.isnan(m).reshape(rows.size, W)
            if com:
                cm[rows] = cw.reshape(rows.size, W)
        else:
            okr, okc = np.nonzero(ok)
            rows = geo["rows"][okr]
            mean[rows, okc] = m
            mx[rows, okc] = x
            mask[rows, okc] = np.isnan(m)
            if com:
                cm[rows, okc] = cw
        per_chrom[c] = {"bigwig_chrom": target, "genes": int(geo["rows"].size),
                        "masked_windows": int(n_windows - ok.sum() + (unc.sum() if mask_uncovered else 0)),
                        "off_chromosome_windows": int(n_windows - ok.sum())}
        if counts is not None:
            per_chrom[c].update(nan_records=counts["nan"], posinf_records=counts["posinf"],
                                nonfinite_windows=touched)
    nan = sum(v.get("nan_records", 0) for v in per_chrom.values())
    posinf = sum(v.get("posinf_records", 0) for v in per_chrom.values())
    touched = sum(v.get("nonfinite_windows", 0) for v in per_chrom.values())
    if touched > MAX_NONFINITE_WINDOW_FRACTION * usable:
        raise nonfinite_error(bw.path, {c: v for c, v in per_chrom.items() if "nan_records" in v},
                              touched, usable)
    out = {"mean": mean, "max": mx, "mask": mask} if cm is None else {
        "mean": mean, "max": mx, "mask": mask, "com": cm}
    return {**out,
            "stats": {"per_chrom": per_chrom, "masked_windows": int(mask.sum()),
                      "health": track_health(mx, mask, nan, posinf, touched),
                      "read_seconds": round(t_read, 3), "window_seconds": round(t_win, 3)}}


def write_signal(path: Path, tf: str, bigwig: str, layout: Layout, track: dict, attrs: dict,
                 prov: dict) -> Path:
    """Atomically write one ``signal.<tf>.h5`` through :func:`tfvocab.formats.write_track`."""
    return write_track(path, tf=tf, source=bigwig, genes=layout.genes, geometry=layout.geometry,
                       mean=track["mean"], max_=track["max"], mask=track["mask"],
                       promoters=layout.promoters_digest, attrs=attrs, prov=prov)


def tf_names(bigwigs: Sequence[str | Path], tfs: Sequence[str] | None) -> list[str]:
    """TF names: ``tfs`` if given (one per bigWig), else each bigWig's file stem."""
    if tfs:
        if len(tfs) != len(bigwigs):
            raise TfvocabError(f"{len(tfs)} --tf names for {len(bigwigs)} --bigwig files",
                               hint="give one --tf per --bigwig, in the same order, or none")
        names = [str(t) for t in tfs]
    else:
        names = [Path(b).name.rsplit(".", 1)[0] if "." in Path(b).name else Path(b).name
                 for b in bigwigs]
    for n, b in zip(names, bigwigs):
        if not _TF_NAME.match(n):
            raise TfvocabError(f"TF name '{n}' is not usable in a file name", path=str(b),
                               hint="letters, digits and _.+- only; set it with --tf")
    seen = {}
    for n, b in zip(names, bigwigs):
        if n in seen:
            raise TfvocabError(f"TF name '{n}' given twice ({seen[n]} and {b})", path=str(b),
                               hint="name them apart with --tf")
        seen[n] = b
    return names


def _extract_one(bw: BigWigReader, res, name: str, layout: Layout, outdir: Path, params: dict,
                 mask_uncovered: bool) -> tuple[Path, dict]:
    """Extract one opened bigWig and write its ``signal.<name>.h5``; returns (path, stats)."""
    t0 = time.perf_counter()
    track = extract_track(bw, layout, res.mapping, mask_uncovered)
    st = track["stats"]
    attrs = {"window": layout.width, "stride": params["stride"], "upstream": layout.upstream,
             "downstream": layout.downstream, "missing_as_zero": True,
             "mask_uncovered": bool(mask_uncovered), "reader": bw.name,
             "chrom_mapping": json.dumps(res.to_dict(), sort_keys=True),
             "masked_windows": st["masked_windows"], "track_kind": "peaks" if bw.name == "peaks" else "bigwig",
             "masked_by_chrom": json.dumps({c: v["masked_windows"] for c, v in st["per_chrom"].items()},
                                           sort_keys=True),
             "health": json.dumps(st["health"], sort_keys=True)}
    if bw.name == "peaks":
        attrs["peaks"] = json.dumps(bw.info, sort_keys=True)
    prm = dict(params, bigwig=bw.path, tf=name)
    out = write_signal(outdir / f"signal.{name}.h5", name, bw.path, layout, track, attrs,
                       provenance("extract", prm))
    st["seconds"] = round(time.perf_counter() - t0, 3)
    st["n_windows"] = int(track["mask"].size)
    return out, st


def available_cpus() -> int:
    """CPUs this process may run on (``sched_getaffinity``; ``os.cpu_count()`` elsewhere)."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


_WORKER: dict = {}


def _worker_init(layout: Layout) -> None:
    _WORKER["layout"] = layout


def _worker_task(path: str, reader: str, res, name: str, outdir: Path, params: dict,
                 mask_uncovered: bool, kind: str = "bigwig",
                 peak_value: str = "auto") -> tuple[str, Path, dict]:
    layout = _WORKER["layout"]
    bw = open_track(path, kind, reader, peak_value)
    try:
        out, st = _extract_one(bw, res, name, layout, outdir, params, mask_uncovered)
    finally:
        bw.close()
    return name, out, st


def _log_track(name: str, path: str, res, layout: Layout, st: dict, reader: str) -> None:
    zero = [c for c, m in res.method.items() if m == "no peaks"]
    if zero:
        log.warning("%s: no peak on promoter chromosome(s) %s: their %d genes get signal 0 "
                    "(check the chromosome names if peaks were expected there)", path, ", ".join(zero),
                    sum(layout.chroms[c]["rows"].size for c in zero))
    if res.unmapped:
        log.warning("%s: promoter chromosome(s) %s absent from the bigWig; their %d genes are masked",
                    path, ", ".join(res.unmapped),
                    sum(layout.chroms[c]["rows"].size for c in res.unmapped))
    for s, t in res.mapping.items():
        if s != t and res.method[s] != "no peaks":
            log.info("%s: chromosome %s -> %s (%s)", path, s, t, res.method[s])
    nf = {v["bigwig_chrom"]: v for v in st["per_chrom"].values() if v.get("nan_records", 0)
          + v.get("posinf_records", 0)}
    if nf:
        h = st["health"]
        log.warning("%s: %d NaN and %d +inf records over promoters (chromosome(s) %s) read as bases "
                    "without data (signal 0); they touch %d of %d windows. A ratio of two tracks "
                    "(x/0, 0/0)? normalize expects coverage (docs/inputs.md, Track kinds)", path,
                    h["nan_records"], h["posinf_records"], ", ".join(list(nf)[:5]),
                    h["nonfinite_windows"], h["windows"])
    log.info("%s", health_line(name, st["health"]))
    log.info("extract %s (%s, reader %s): %d of %d windows masked; read %.2f s, windows %.2f s, "
             "total %.2f s", name, path, reader, st["masked_windows"], st["n_windows"],
             st["read_seconds"], st["window_seconds"], st["seconds"])


def track_list(bigwig: Sequence[str | Path] = (), peaks: Sequence[str | Path] = (),
               tf: Sequence[str] | None = None, samplesheet: str | Path | None = None
               ) -> list[tuple[str, str, str]]:
    """The tracks to extract as ``(name, path, kind)`` (``kind``: ``bigwig``, ``peaks`` or
    ``control``), from a samplesheet or from ``--bigwig`` / ``--peaks`` files.

    ``tf``: names of the ``--bigwig`` files then of the ``--peaks`` files, in that order (default:
    the file stems). A samplesheet names its own tracks (TFs, then distinct controls).
    """
    bigwig = [str(b) for b in ([bigwig] if isinstance(bigwig, (str, Path)) else (bigwig or []))]
    peaks = [str(b) for b in ([peaks] if isinstance(peaks, (str, Path)) else (peaks or []))]
    if samplesheet is not None:
        if bigwig or peaks or tf:
            raise TfvocabError("give either --samplesheet or --bigwig/--peaks (with --tf), not both")
        from .samplesheet import read_samplesheet, tracks

        out = [(str(n), str(pth), k) for n, pth, k in tracks(read_samplesheet(samplesheet))]
        tf_names([pth for _, pth, _ in out], [n for n, _, _ in out])      # name checks
        return out
    if not bigwig and not peaks:
        raise TfvocabError("no --bigwig or --peaks given", hint="or give --samplesheet FILE")
    files = bigwig + peaks
    if tf:
        names = tf_names(files, tf)
    else:
        from .peaks import peaks_stem

        stems = [Path(b).name.rsplit(".", 1)[0] if "." in Path(b).name else Path(b).name for b in bigwig]
        names = tf_names(files, stems + [peaks_stem(x) for x in peaks])
    kinds = ["bigwig"] * len(bigwig) + ["peaks"] * len(peaks)
    return list(zip(names, files, kinds))


def run(promoters: str | Path, bigwig: Sequence[str | Path] = (), outdir: str | Path = ".",
        tf: Sequence[str] | None = None, window: int = coords.WINDOW, stride: int = coords.STRIDE,
        chrom_alias: str | Path | None = None, reader: str = DEFAULT_READER,
        mask_uncovered: bool = False, upstream: int | None = None,
        downstream: int | None = None, jobs: int = 1, peaks: Sequence[str | Path] = (),
        samplesheet: str | Path | None = None, peak_value: str = "auto") -> dict[str, Path]:
    """Extract per-window signal of each track over the promoters of ``promoters.tsv``.

    Tracks: ``bigwig`` files, ``peaks`` files (narrowPeak / broadPeak / BED, rendered as each
    peak's ``peak_value`` over its interval, :mod:`tfvocab.data.peaks`), or every row of a
    ``samplesheet`` (:func:`track_list`). Writes ``<outdir>/signal.<tf>.h5`` per track and returns
    ``{tf: path}``. ``window`` and ``stride`` are in bp; ``upstream``/``downstream`` (bp) default
    to the flanks ``promoters.tsv`` was built with. All tracks are opened and their chromosome
    names matched before anything is written, so a bad file stops the run without output.
    ``jobs`` > 1 processes that many tracks at once in worker processes (memory ~ jobs x one
    chromosome's records, independent of the number of tracks); outputs are identical for any
    ``jobs``.
    """
    from .chroms import read_aliases, resolve

    if jobs < 1:
        raise TfvocabError(f"jobs must be >= 1, got {jobs}")
    track_specs = track_list(bigwig, peaks, tf, samplesheet)
    names = [n for n, _, _ in track_specs]
    paths = [pth for _, pth, _ in track_specs]
    kinds = [k for _, _, k in track_specs]
    df = read_promoters(promoters)
    up0, down0 = infer_flanks(df)
    upstream = up0 if upstream is None else int(upstream)
    downstream = down0 if downstream is None else int(downstream)
    layout = make_layout(df, int(window), int(stride), upstream, downstream)
    aliases = read_aliases(chrom_alias) if chrom_alias else None
    log.info("%d promoters on %d chromosome(s); %d windows of %d bp every %d bp (offsets %d..%d)",
             len(df), len(layout.chroms), layout.offsets.size, window, stride,
             int(layout.offsets[0]), int(layout.offsets[-1] + window - 1))
    params = {"promoters": str(promoters), "window": int(window), "stride": int(stride),
              "upstream": upstream, "downstream": downstream,
              "chrom_alias": str(chrom_alias) if chrom_alias else None,
              "mask_uncovered": bool(mask_uncovered), "missing_as_zero": True}
    if any(k == "peaks" for k in kinds):
        params["peak_value"] = peak_value
    if samplesheet is not None:
        params["samplesheet"] = str(samplesheet)
    outdir = Path(outdir)

    # Open everything and match chromosomes first: bad input fails before any output exists.
    # Readers are closed right away (pybigtools keeps ~50 MB of cache per open reader) and
    # reopened one at a time below, so memory does not grow with the number of tracks.
    results = []
    for path, kind in progress(list(zip(paths, kinds)), desc="checking tracks", unit="track"):
        bw = open_track(path, kind, reader, peak_value)
        try:
            res = resolve(list(layout.chroms), list(bw.chroms), aliases,
                          source_label=str(promoters), target_label=path)
            target_names = list(bw.chroms)
        finally:
            bw.close()
        if not res.mapping and not (kind == "peaks" and not target_names):
            raise TfvocabError(
                f"no chromosome matches the promoters' ({', '.join(list(layout.chroms)[:5])}); "
                f"{'the peaks file' if kind == 'peaks' else 'bigWig'} has "
                f"{', '.join(target_names[:5])}", path=path, hint="give a --chrom-alias table")
        if kind == "peaks":
            # a peak file lists where signal is: a chromosome without peaks is all zero
            for c in list(res.unmapped):
                res.mapping[c], res.method[c] = c, "no peaks"
            res.unmapped = []
        results.append(res)
    n_bw = sum(k != "peaks" for k in kinds)
    what = f"{n_bw} bigWig(s) with {reader}" + (f", {len(kinds) - n_bw} peak file(s)" if n_bw < len(kinds) else "")
    # one manifest per TF (the pipeline extracts one track per task into a shared folder), or per
    # set of TFs extracted together
    tag = names[0] if len(names) == 1 else f"{len(names)}tracks-{digest(sorted(names))[:8]}"
    with step_outputs(outdir, "extract", {**params, "tracks": dict(zip(names, paths))}, tag=tag) as out, \
            timed(f"extract {what}, {jobs} job(s)", log):
        stage = out.staging
        health = out.extra.setdefault("health", {})
        if jobs == 1 or len(paths) == 1:
            _worker_init(layout)
            for path, res, name, kind in progress(list(zip(paths, results, names, kinds)), desc="tracks",
                                                  total=len(paths), unit="track"):
                _, _, st = _worker_task(path, reader, res, name, stage, params, mask_uncovered,
                                        kind, peak_value)
                health[name] = st["health"]
                _log_track(name, path, res, layout, st, reader if kind != "peaks" else "peaks")
            _WORKER.clear()
        else:
            import concurrent.futures as cf
            import multiprocessing as mp

            ctx = mp.get_context("fork" if sys.platform == "linux" else "spawn")
            with cf.ProcessPoolExecutor(max_workers=min(jobs, len(paths)), mp_context=ctx,
                                        initializer=_worker_init, initargs=(layout,)) as pool:
                futs = [pool.submit(_worker_task, path, reader, res, name, stage, params, mask_uncovered,
                                    kind, peak_value)
                        for path, res, name, kind in zip(paths, results, names, kinds)]
                for fut in progress(cf.as_completed(futs), desc="tracks", total=len(futs),
                                    unit="track"):
                    name, _, st = fut.result()
                    health[name] = st["health"]
                    k = names.index(name)
                    _log_track(name, paths[k], results[k], layout, st,
                               reader if kinds[k] != "peaks" else "peaks")
    written = {n: outdir / f"signal.{n}.h5" for n in names}
    return written
