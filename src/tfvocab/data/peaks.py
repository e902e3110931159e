"""Peak calls as a signal track: narrowPeak / broadPeak / BED (``.gz`` ok) -> per-chromosome records.

DAP-seq is widely distributed as peak calls (O'Malley et al. 2016: one narrowPeak file per TF,
``chr1``-style names) rather than bigWigs. A peak file is rendered as a piecewise-constant
signal: each peak's value over its interval, 0 elsewhere, so :func:`tfvocab.data.windowstats.window_stats`
reduces it to window means and maxima exactly as it does a bigWig's records.

Formats (ENCODE / UCSC definitions; 0-based, half-open ``chromStart``, ``chromEnd``):

* narrowPeak (BED6+4): chrom, start, end, name, score, strand, **signalValue**, pValue, qValue,
  peak (summit offset);
* broadPeak (BED6+3): the same without ``peak``;
* BED (3 to 12 columns): the ``score`` column (5th) when present, else 1 (presence).

Values: the chosen column must hold a finite number >= 0 on every line; a non-numeric, NaN or
infinite value and a negative one (``-1`` is "not computed" in narrowPeak) are refused with a
one-line error naming the line, the count and ``--peak-value``.

``value``: ``"auto"`` (signalValue for narrowPeak/broadPeak, the score for BED5+ unless it is
constant, else 1), ``"signal"`` (column 7), ``"score"`` (column 5), ``"pvalue"`` (column 8),
``"one"`` (presence/absence). The format is recognised by the file name (``.narrowPeak``,
``.broadPeak``, ``.bed``, before ``.gz``) or, failing that, by the column count (10 / 9).
``track``/``browser`` lines, ``#`` comments and blank lines are skipped.

Overlapping peaks (MACS2 ``--call-summits`` writes one row per summit of a region) are merged
into non-overlapping records holding the **maximum** value over each base. A chromosome with no
peak in the file is all zero (a peak file lists where signal is, not where data was missing);
:class:`PeakTrack` reports its length as unknown (:data:`LENGTH_UNKNOWN`).
"""
from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import TfvocabError
from ..log import get_logger

log = get_logger("peaks")

FORMATS = ("narrowPeak", "broadPeak", "bed")
VALUES = ("auto", "signal", "score", "pvalue", "one")
#: Length reported for every chromosome (peak files carry no chromosome sizes).
LENGTH_UNKNOWN = int(np.iinfo(np.int64).max // 4)
_SUFFIX = re.compile(r"\.(narrowpeak|broadpeak|bed)(\.gz)?$", re.IGNORECASE)
_VALUE_COLUMN = {"signal": 6, "score": 4, "pvalue": 7}       # 0-based


def is_peaks_path(path: str | Path) -> bool:
    """True for ``*.narrowPeak``, ``*.broadPeak``, ``*.bed`` (optionally ``.gz``)."""
    return bool(_SUFFIX.search(str(path)))


def peaks_stem(path: str | Path) -> str:
    """File name without ``.gz`` and the peak-format suffix (``ABF1_col.narrowPeak.gz`` ->
    ``ABF1_col``)."""
    name = Path(path).name
    return _SUFFIX.sub("", name) or name


def format_of(path: str | Path, n_columns: int) -> str:
    """``narrowPeak`` / ``broadPeak`` / ``bed`` from the file name, else from the column count."""
    m = _SUFFIX.search(str(path))
    if m:
        return {"narrowpeak": "narrowPeak", "broadpeak": "broadPeak", "bed": "bed"}[m.group(1).lower()]
    return {10: "narrowPeak", 9: "broadPeak"}.get(n_columns, "bed")


def merge_max(starts: np.ndarray, ends: np.ndarray, values: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Possibly overlapping intervals -> sorted, non-overlapping records of the per-base maximum.

    ``starts``, ``ends`` int64 (n,) (``start < end``), ``values`` float (n,). Returns ``starts``,
    ``ends`` int64 (m,) and ``values`` float32 (m,); bases covered by no interval are left out.
    Cost O(n log n + total elementary segments covered).
    """
    order = np.lexsort((ends, starts))
    s, e, v = starts[order], ends[order], values[order].astype(np.float64)
    if s.size == 0:
        return s.astype(np.int64), e.astype(np.int64), v.astype(np.float32)
    reach = np.maximum.accumulate(e)
    if s.size == 1 or bool(np.all(s[1:] >= reach[:-1])):      # already disjoint (the usual case)
        return s.astype(np.int64), e.astype(np.int64), v.astype(np.float32)
    pts = np.unique(np.concatenate([s, e]))
    i0 = np.searchsorted(pts, s)
    i1 = np.searchsorted(pts, e)
    counts = i1 - i0
    seg = np.repeat(i0 - np.cumsum(np.r_[0, counts[:-1]]), counts) + np.arange(counts.sum())
    best = np.full(pts.size - 1, -np.inf)
    np.maximum.at(best, seg, np.repeat(v, counts))
    covered = np.isfinite(best)
    return (pts[:-1][covered].astype(np.int64), pts[1:][covered].astype(np.int64),
            best[covered].astype(np.float32))


def overlapping(starts: np.ndarray, ends: np.ndarray) -> int:
    """Number of intervals (n,) that overlap at least one other interval."""
    o = np.lexsort((ends, starts))
    s, e = starts[o], ends[o]
    if s.size < 2:
        return 0
    reach = np.maximum.accumulate(e)
    hit = s[1:] < reach[:-1]                 # interval i + 1 starts inside an earlier one
    over = np.zeros(s.size, dtype=bool)
    over[1:] |= hit
    # the earlier interval(s) reached into: mark the one holding the reach (first of the run)
    first = np.r_[0, np.flatnonzero(~hit) + 1]
    run_id = np.cumsum(np.r_[True, ~hit])
    sizes = np.bincount(run_id)[1:]
    over[first[sizes > 1]] = True
    return int(over.sum())


def _open(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def read_peaks(path: str | Path, value: str = "auto") -> tuple[dict, dict]:
    """Read a peak file into per-chromosome records.

    Returns ``(records, info)``: ``records`` ``{chrom: (starts int64 (n,), ends int64 (n,),
    values float32 (n,))}`` sorted and non-overlapping (:func:`merge_max`); ``info``: format,
    value column, peak and chromosome counts, ``merged_overlaps`` (peaks that overlapped
    another). Raises :class:`TfvocabError` naming the line for a malformed row.
    """
    path = Path(path)
    if value not in VALUES:
        raise TfvocabError(f"unknown peak value {value!r}", hint=f"one of {', '.join(VALUES)}")
    if not path.is_file():
        raise TfvocabError("peaks file not found", path=str(path))
    lines, numbers = [], []
    try:
        with _open(path) as fh:
            for n, line in enumerate(fh, 1):
                s = line.strip()
                if not s or s.startswith(("#", "track", "browser")):
                    continue
                lines.append(line.rstrip("\r\n"))
                numbers.append(n)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise TfvocabError(f"cannot read peaks ({exc})", path=str(path),
                           hint="the file is truncated or not a text/gzip peak file") from None
    info = {"path": str(path), "peaks": len(lines)}
    if not lines:
        log.warning("%s: no peaks: an all-zero track", path)
        return {}, {**info, "format": format_of(path, 0), "value": "none", "chromosomes": 0,
                    "merged_overlaps": 0}
    delim = "\t" if "\t" in lines[0] else None
    rows = [ln.split(delim) if delim else ln.split() for ln in lines]
    ncol = len(rows[0])
    fmt = format_of(path, ncol)
    need = {"narrowPeak": 10, "broadPeak": 9, "bed": 3}[fmt]
    for r, n in zip(rows, numbers):
        if len(r) < need:
            raise TfvocabError(f"{len(r)} columns where {fmt} has {need}", path=str(path),
                               record=f"line {n}", hint="chrom, start, end, ... one peak per line")
    if value == "auto":
        if fmt in ("narrowPeak", "broadPeak"):
            value = "signal"
        elif ncol >= 5:
            value = "score"
        else:
            value = "one"
    col = _VALUE_COLUMN.get(value)
    if col is not None and any(len(r) <= col for r in rows):
        i = next(i for i, r in enumerate(rows) if len(r) <= col)
        raise TfvocabError(f"--peak-value {value} needs column {col + 1}, the line has {len(rows[i])}",
                           path=str(path), record=f"line {numbers[i]}")
    chrom = np.array([r[0] for r in rows], dtype=object)

    def ints(j: int, what: str) -> np.ndarray:
        try:
            return np.array([r[j] for r in rows], dtype=np.int64)
        except ValueError:
            i = next(i for i, r in enumerate(rows) if not r[j].strip().lstrip("-").isdigit())
            raise TfvocabError(f"{what} {rows[i][j]!r} is not an integer", path=str(path),
                               record=f"line {numbers[i]}") from None

    starts, ends = ints(1, "start"), ints(2, "end")
    bad = np.flatnonzero((starts < 0) | (ends <= starts))
    if bad.size:
        i = int(bad[0])
        raise TfvocabError(f"bad interval {starts[i]}-{ends[i]} ({bad.size} such peaks)", path=str(path),
                           record=f"line {numbers[i]}", hint="0 <= start < end (BED coordinates)")
    if col is None:
        vals = np.ones(len(rows))
    else:
        text = pd.Series([r[col] for r in rows])
        raw = pd.to_numeric(text, errors="coerce").to_numpy(float)
        bad = np.flatnonzero(~np.isfinite(raw))
        if bad.size:
            i = int(bad[0])
            word = "non-finite" if text.str.strip().str.lower().str.lstrip("+-").isin(
                ["nan", "inf", "infinity"]).iloc[i] else "non-numeric"
            raise TfvocabError(f"{word} {value} value {rows[i][col]!r} ({bad.size} such peaks)",
                               path=str(path), record=f"line {numbers[i]}",
                               hint="a peak's value must be a finite number; fix these lines or "
                                    "choose another --peak-value (one: presence)")
        vals = raw
        if value == "score" and fmt == "bed" and np.all(vals == vals[0]):
            log.info("%s: every BED score is %g: peaks rendered as presence (1)", path, vals[0])
            vals, value = np.ones(len(rows)), "one"
        if np.all(vals == -1):
            raise TfvocabError(f"every {value} value is -1 (not computed by the peak caller)",
                               path=str(path), hint="choose another --peak-value (score, pvalue, one)")
        neg = np.flatnonzero(vals < 0)
        if neg.size:
            i = int(neg[0])
            raise TfvocabError(f"negative {value} value {rows[i][col]!r} ({neg.size} such peaks): "
                               "a peak's signal is coverage, >= 0", path=str(path),
                               record=f"line {numbers[i]}",
                               hint="-1 means 'not computed' in narrowPeak/broadPeak: choose "
                                    "another --peak-value (signal, score, pvalue, one)")
    records, merged = {}, 0
    for c in dict.fromkeys(chrom.tolist()):
        m = chrom == c
        records[c] = merge_max(starts[m], ends[m], vals[m])
        merged += overlapping(starts[m], ends[m])
    if merged:
        log.info("%s: %d overlapping peaks merged (per-base maximum of their %s values)", path,
                 merged, value)
    info.update(format=fmt, value=value, value_column=(col + 1) if col is not None else None,
                chromosomes=len(records), merged_overlaps=merged)
    return records, info


class _Lengths(dict):
    """Chromosome lengths of a peak file: unknown, so any name (even one without peaks)
    has :data:`LENGTH_UNKNOWN`; iteration lists the chromosomes that have peaks."""

    def __missing__(self, key):
        return LENGTH_UNKNOWN


class PeakTrack:
    """A peak file with the record interface of the bigWig readers (:mod:`tfvocab.data.extract`):
    ``chroms`` {name: length}, :meth:`intervals` of a chromosome, :meth:`close`."""

    name = "peaks"

    def __init__(self, path: str | Path, value: str = "auto"):
        self.path = str(path)
        self.records, self.info = read_peaks(path, value)
        self.chroms = _Lengths({c: LENGTH_UNKNOWN for c in self.records})

    def intervals(self, chrom: str, spans: tuple[np.ndarray, np.ndarray] | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Records of ``chrom`` (empty arrays for a chromosome without peaks); ``spans`` unused
        (a peak file is read whole)."""
        if chrom not in self.records:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
        return self.records[chrom]

    def close(self) -> None:
        self.records = {}
