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

* its chromosome is absent from the bigWig (after name harmonisation, :mod:`tfvocab.chroms`), or
* it lies, even partly, off the chromosome: before base 0, past the bigWig's chromosome length,
  or (for ``clipped`` promoters) outside the promoter interval clipped by ``promoters``;
* and, only with ``mask_uncovered=True``, when none of its bases has data in the bigWig.

Speed: each chromosome of a bigWig is read once at base resolution into one reusable float64
buffer (one bigWig and one chromosome at a time, so memory does not grow with the number of TFs
or genes); all windows of all promoters on that chromosome are then reduced at once with
``np.add.reduceat`` / ``np.maximum.reduceat`` over start-sorted window boundaries (O(chromosome
length + windows), no Python loop over genes). Two readers are supported: ``pybigtools`` (Rust;
the default, fastest in ``bench/extract.py``) and ``pyBigWig`` (libBigWig); both give identical
values.
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

from . import coords
from .errors import TfvocabError
from .io import atomic_path, provenance, set_h5_provenance, write_strings
from .log import get_logger, progress, timed

log = get_logger("extract")

READERS = ("pybigtools", "pybigwig")
DEFAULT_READER = "pybigtools"
REQUIRED_COLUMNS = ("gene_id", "chrom", "strand", "start_codon")
_TF_NAME = re.compile(r"^[A-Za-z0-9_.+\-]+$")


# --------------------------------------------------------------------------------------------
# promoters.tsv
# --------------------------------------------------------------------------------------------
def read_promoters(path: str | Path) -> pd.DataFrame:
    """Read and validate ``promoters.tsv``.

    Returns a DataFrame with at least ``gene_id`` (str), ``chrom`` (str), ``strand`` ('+'/'-'),
    ``start_codon`` (int64, 0-based genomic), ``clipped`` (bool; False when the column is absent)
    and, when present, ``start``/``end`` (int64). Raises :class:`TfvocabError` naming the file
    and the offending column / row for missing columns, bad strands, non-integer coordinates or
    duplicated gene IDs.
    """
    path = Path(path)
    try:
        df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, comment=None)
    except FileNotFoundError:
        raise TfvocabError("promoters file not found", path=str(path)) from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise TfvocabError(f"cannot parse promoters table: {exc}", path=str(path)) from None
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise TfvocabError(f"missing required column(s) {', '.join(missing)}", path=str(path),
                           record="header",
                           hint=f"expected columns {', '.join(REQUIRED_COLUMNS)} (from tfvocab promoters)")
    if len(df) == 0:
        raise TfvocabError("no promoters in file", path=str(path))
    bad = ~df["strand"].isin(["+", "-"])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise TfvocabError(f"strand must be '+' or '-', got '{df['strand'].iloc[i]}'", path=str(path),
                           record=f"line {i + 2} (gene {df['gene_id'].iloc[i]})")
    for col in ("start_codon", "start", "end"):
        if col not in df.columns:
            continue
        num = pd.to_numeric(df[col], errors="coerce")
        bad = num.isna() | (num != np.floor(num))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise TfvocabError(f"column {col} must be an integer, got '{df[col].iloc[i]}'",
                               path=str(path), record=f"line {i + 2} (gene {df['gene_id'].iloc[i]})")
        df[col] = num.astype(np.int64)
    dup = df["gene_id"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise TfvocabError(f"duplicated gene_id '{df['gene_id'].iloc[i]}'", path=str(path),
                           record=f"line {i + 2}")
    if "clipped" in df.columns:
        df["clipped"] = df["clipped"].str.strip().str.lower().isin(["true", "1", "yes", "t"])
    else:
        df["clipped"] = False
    return df


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
# bigWig readers
# --------------------------------------------------------------------------------------------
class BigWigReader:
    """Base-resolution reader of one bigWig: ``chroms`` {name: length}; :meth:`fill` a buffer."""

    name = "?"

    def __init__(self, path: str | Path):
        self.path = str(path)
        self.chroms: dict[str, int] = {}

    def fill(self, chrom: str, out: np.ndarray) -> None:
        """Write the per-base values of ``chrom`` into ``out`` (float64, (length,)); NaN = no data."""
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - trivial
        pass


class PyBigWigReader(BigWigReader):
    name = "pybigwig"

    def __init__(self, path):
        super().__init__(path)
        import pyBigWig

        try:
            bw = pyBigWig.open(self.path)
        except (RuntimeError, OSError) as exc:
            raise TfvocabError(f"not a readable bigWig ({exc})", path=self.path,
                               hint="the file is corrupt, empty or not a bigWig") from None
        if bw is None or not bw.isBigWig():
            raise TfvocabError("not a readable bigWig", path=self.path,
                               hint="the file is corrupt, empty or a bigBed")
        self._bw = bw
        self.chroms = dict(bw.chroms())

    def fill(self, chrom, out):
        out[:] = self._bw.values(chrom, 0, self.chroms[chrom], numpy=True)

    def close(self):
        self._bw.close()


class PybigtoolsReader(BigWigReader):
    name = "pybigtools"

    def __init__(self, path):
        super().__init__(path)
        import pybigtools

        if not Path(self.path).is_file():
            raise TfvocabError("bigWig file not found", path=self.path)
        try:
            bw = pybigtools.open(self.path)
            ok = bw.is_bigwig
            chroms = dict(bw.chroms())
        except Exception as exc:  # pybigtools raises BBIReadError, ValueError, OSError...
            raise TfvocabError(f"not a readable bigWig ({exc})", path=self.path,
                               hint="the file is corrupt, empty or not a bigWig") from None
        if not ok:
            raise TfvocabError("not a bigWig (a bigBed?)", path=self.path)
        self._bw = bw
        self.chroms = chroms

    def fill(self, chrom, out):
        self._bw.values(chrom, 0, self.chroms[chrom], fillna=None, arr=out)

    def close(self):
        self._bw.close()


def open_bigwig(path: str | Path, reader: str = DEFAULT_READER) -> BigWigReader:
    """Open ``path`` with the named reader (``pybigtools`` or ``pybigwig``)."""
    cls = {"pybigtools": PybigtoolsReader, "pybigwig": PyBigWigReader}.get(reader.lower())
    if cls is None:
        raise TfvocabError(f"unknown bigWig reader '{reader}'", hint=f"one of {', '.join(READERS)}")
    return cls(path)


# --------------------------------------------------------------------------------------------
# window statistics (pure array functions)
# --------------------------------------------------------------------------------------------
def window_stats(values: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                 want_uncovered: bool = False, order: np.ndarray | None = None,
                 nan_buffer: np.ndarray | None = None):
    """Mean and max of ``values`` over half-open windows ``[starts, ends)``.

    ``values``: float64 (L + 1,) per-base signal of one chromosome with NaN = no data, plus one
    spare trailing slot; **modified in place** (NaN -> 0, the spare slot set to 0).
    ``starts``, ``ends``: int64 (N,), ``0 <= start < end <= L``, any order, any overlap.
    Returns ``mean`` float64 (N,) (sum / width, uncovered bases count as 0), ``max`` float64 (N,)
    (uncovered bases count as 0) and, with ``want_uncovered``, a bool (N,) that is True where no
    base of the window has data (else None). ``order``: optional precomputed
    ``argsort(starts, kind="stable")``; ``nan_buffer``: optional reusable bool array of at least
    ``values.size`` (avoids page-faulting a fresh one per chromosome).
    """
    n = starts.size
    if n == 0:
        empty = np.zeros(0)
        return empty, empty.copy(), (np.zeros(0, bool) if want_uncovered else None)
    values[-1] = 0.0
    if nan_buffer is None or nan_buffer.size < values.size:
        nan_buffer = np.empty(values.size, dtype=bool)
    nan = np.isnan(values, out=nan_buffer[:values.size])
    if order is None:
        order = np.argsort(starts, kind="stable")
    idx = np.empty(2 * n, dtype=np.int64)
    idx[0::2] = starts[order]
    idx[1::2] = ends[order]
    uncovered = None
    if want_uncovered:
        nan[-1] = True
        unc_sorted = np.logical_and.reduceat(nan, idx)[0::2]
        uncovered = np.empty(n, dtype=bool)
        uncovered[order] = unc_sorted
    np.copyto(values, 0.0, where=nan)
    sums = np.add.reduceat(values, idx)[0::2]
    maxs = np.maximum.reduceat(values, idx)[0::2]
    mean = np.empty(n)
    mx = np.empty(n)
    mean[order] = sums / (ends[order] - starts[order])
    mx[order] = maxs
    return mean, mx, uncovered


def kept_order(order: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Sort order of ``x[keep]`` given the sort order ``order`` (N,) of ``x`` and a bool (N,)
    ``keep``: the result indexes the compressed array (O(N), no new sort; stable ties kept)."""
    pos = np.cumsum(keep) - 1
    return pos[order[keep[order]]]


# --------------------------------------------------------------------------------------------
# one bigWig
# --------------------------------------------------------------------------------------------
@dataclass
class Layout:
    """Window geometry of all promoters, grouped by promoter chromosome.

    ``offsets`` (W,) window start offsets; ``width`` bp; per promoter chromosome ``rows`` (g,)
    gene indices, ``starts``/``ends`` (g, W) genomic windows; ``inside`` (g, W) False where a
    clipped promoter's window leaves the clipped interval.
    """

    genes: list[str]
    offsets: np.ndarray
    width: int
    upstream: int
    downstream: int
    chroms: dict[str, dict] = field(default_factory=dict)


def make_layout(df: pd.DataFrame, width: int, stride: int, upstream: int, downstream: int) -> Layout:
    """Window geometry of every promoter of ``df`` (see :class:`Layout`)."""
    try:
        offsets = coords.window_offsets(upstream, downstream, width, stride)
    except ValueError as exc:
        raise TfvocabError(str(exc), hint="check --window / --stride") from None
    lay = Layout(genes=df["gene_id"].tolist(), offsets=offsets, width=width,
                 upstream=upstream, downstream=downstream)
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
        lay.chroms[c] = {"rows": rows, "starts": starts, "ends": ends, "inside": inside, "order": order}
    return lay


def extract_track(bw: BigWigReader, layout: Layout, mapping: dict[str, str],
                  mask_uncovered: bool = False, buffer: np.ndarray | None = None) -> dict:
    """Window means/maxes of one bigWig over all promoters.

    ``mapping``: promoter chromosome -> bigWig chromosome (unmapped ones are masked).
    ``buffer``: optional reusable float64 array of at least (longest chromosome + 1,).
    Returns ``mean``, ``max`` float32 (G, W) (NaN where masked), ``mask`` bool (G, W) and a
    ``stats`` dict (per-chromosome masked counts, seconds).
    """
    G, W = len(layout.genes), layout.offsets.size
    mean = np.full((G, W), np.nan, dtype=np.float32)
    mx = np.full((G, W), np.nan, dtype=np.float32)
    mask = np.ones((G, W), dtype=bool)
    need = max((bw.chroms[mapping[c]] for c in layout.chroms if c in mapping), default=0) + 1
    if buffer is None or buffer.size < need:
        buffer = np.empty(need, dtype=np.float64)
    nan_buffer = np.empty(need, dtype=bool)
    per_chrom = {}
    t_read = t_win = 0.0
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
        values = buffer[:length + 1]
        try:
            bw.fill(target, values[:length])
        except Exception as exc:  # corrupt data blocks
            raise TfvocabError(f"cannot read values ({exc})", path=bw.path,
                               record=f"chromosome {target}", hint="the bigWig may be corrupt") from None
        t1 = time.perf_counter()
        okf = ok.ravel()
        m, x, unc = window_stats(values, starts.ravel()[okf], ends.ravel()[okf],
                                 want_uncovered=mask_uncovered, order=kept_order(geo["order"], okf),
                                 nan_buffer=nan_buffer)
        t_win += time.perf_counter() - t1
        t_read += t1 - t0
        if mask_uncovered:
            m[unc] = np.nan
            x[unc] = np.nan
        okr, okc = np.nonzero(ok)
        rows = geo["rows"][okr]
        mean[rows, okc] = m
        mx[rows, okc] = x
        mask[rows, okc] = np.isnan(m)
        per_chrom[c] = {"bigwig_chrom": target, "genes": int(geo["rows"].size),
                        "masked_windows": int(n_windows - ok.sum() + (unc.sum() if mask_uncovered else 0)),
                        "off_chromosome_windows": int(n_windows - ok.sum())}
    return {"mean": mean, "max": mx, "mask": mask,
            "stats": {"per_chrom": per_chrom, "masked_windows": int(mask.sum()),
                      "read_seconds": round(t_read, 3), "window_seconds": round(t_win, 3)}}


def write_signal(path: Path, tf: str, bigwig: str, layout: Layout, track: dict, attrs: dict,
                 prov: dict) -> Path:
    """Atomically write one ``signal.<tf>.h5`` (layout: docs/formats.md)."""
    import h5py

    G, W = track["mean"].shape
    chunks = (max(1, min(G, 256)), W)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w", track_order=False) as h5:
            write_strings(h5, "genes", layout.genes)
            h5.create_dataset("window_start", data=layout.offsets.astype(np.int64))
            for name in ("mean", "max", "mask"):
                h5.create_dataset(name, data=track[name], chunks=chunks, compression="gzip",
                                  compression_opts=1)
            h5.attrs["tf"] = tf
            h5.attrs["bigwig"] = bigwig
            for k, v in attrs.items():
                h5.attrs[k] = v
            set_h5_provenance(h5, prov)
    return path


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
                 mask_uncovered: bool, buffer: np.ndarray | None) -> tuple[Path, dict]:
    """Extract one opened bigWig and write its ``signal.<name>.h5``; returns (path, stats)."""
    t0 = time.perf_counter()
    track = extract_track(bw, layout, res.mapping, mask_uncovered, buffer)
    st = track["stats"]
    attrs = {"window": layout.width, "stride": params["stride"], "upstream": layout.upstream,
             "downstream": layout.downstream, "missing_as_zero": True,
             "mask_uncovered": bool(mask_uncovered), "reader": bw.name,
             "chrom_mapping": json.dumps(res.to_dict(), sort_keys=True),
             "masked_windows": st["masked_windows"],
             "masked_by_chrom": json.dumps({c: v["masked_windows"] for c, v in st["per_chrom"].items()},
                                           sort_keys=True)}
    prm = dict(params, bigwig=bw.path, tf=name)
    out = write_signal(outdir / f"signal.{name}.h5", name, bw.path, layout, track, attrs,
                       provenance("extract", prm))
    st["seconds"] = round(time.perf_counter() - t0, 3)
    st["n_windows"] = int(track["mask"].size)
    return out, st


_WORKER: dict = {}


def _worker_init(layout: Layout) -> None:
    _WORKER["layout"] = layout
    _WORKER["buffer"] = None


def _worker_task(path: str, reader: str, res, name: str, outdir: Path, params: dict,
                 mask_uncovered: bool) -> tuple[str, Path, dict]:
    layout = _WORKER["layout"]
    bw = open_bigwig(path, reader)
    try:
        need = max(bw.chroms[t] for t in res.mapping.values()) + 1
        if _WORKER["buffer"] is None or _WORKER["buffer"].size < need:
            _WORKER["buffer"] = np.empty(need, dtype=np.float64)
        out, st = _extract_one(bw, res, name, layout, outdir, params, mask_uncovered, _WORKER["buffer"])
    finally:
        bw.close()
    return name, out, st


def _log_track(name: str, path: str, res, layout: Layout, st: dict, reader: str) -> None:
    if res.unmapped:
        log.warning("%s: promoter chromosome(s) %s absent from the bigWig; their %d genes are masked",
                    path, ", ".join(res.unmapped),
                    sum(layout.chroms[c]["rows"].size for c in res.unmapped))
    for s, t in res.mapping.items():
        if s != t:
            log.info("%s: chromosome %s -> %s (%s)", path, s, t, res.method[s])
    log.info("extract %s (%s, reader %s): %d of %d windows masked; read %.2f s, windows %.2f s, "
             "total %.2f s", name, path, reader, st["masked_windows"], st["n_windows"],
             st["read_seconds"], st["window_seconds"], st["seconds"])


def run(promoters: str | Path, bigwig: Sequence[str | Path], outdir: str | Path,
        tf: Sequence[str] | None = None, window: int = coords.WINDOW, stride: int = coords.STRIDE,
        chrom_alias: str | Path | None = None, reader: str = DEFAULT_READER,
        mask_uncovered: bool = False, upstream: int | None = None,
        downstream: int | None = None, jobs: int = 1) -> dict[str, Path]:
    """Extract per-window signal of each bigWig over the promoters of ``promoters.tsv``.

    Writes ``<outdir>/signal.<tf>.h5`` per bigWig and returns ``{tf: path}``. ``window`` and
    ``stride`` are in bp; ``upstream``/``downstream`` (bp) default to the flanks ``promoters.tsv``
    was built with. All bigWigs are opened and their chromosome names matched before anything
    is written, so a bad file stops the run without output. ``jobs`` > 1 processes that many
    bigWigs at once in worker processes (memory ~ jobs x one chromosome buffer, independent of
    the number of bigWigs); outputs are identical for any ``jobs``.
    """
    from .chroms import read_aliases, resolve

    bigwig = [str(b) for b in (bigwig if not isinstance(bigwig, (str, Path)) else [bigwig])]
    if not bigwig:
        raise TfvocabError("no --bigwig given")
    if jobs < 1:
        raise TfvocabError(f"jobs must be >= 1, got {jobs}")
    names = tf_names(bigwig, tf)
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
    outdir = Path(outdir)

    # Open everything and match chromosomes first: bad input fails before any output exists.
    # Readers are closed right away (pybigtools keeps ~50 MB of cache per open reader) and
    # reopened one at a time below, so memory does not grow with the number of bigWigs.
    results = []
    lengths = []
    for path in bigwig:
        bw = open_bigwig(path, reader)
        try:
            res = resolve(list(layout.chroms), list(bw.chroms), aliases,
                          source_label=str(promoters), target_label=path)
            lengths.append(max((bw.chroms[t] for t in res.mapping.values()), default=0))
        finally:
            bw.close()
        if not res.mapping:
            raise TfvocabError(
                f"no chromosome matches the promoters' ({', '.join(list(layout.chroms)[:5])}); "
                f"bigWig has {', '.join(list(bw.chroms)[:5])}", path=path,
                hint="give a --chrom-alias table")
        results.append(res)
    outdir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    with timed(f"extract {len(bigwig)} bigWig(s) with {reader}, {jobs} job(s)", log):
        if jobs == 1 or len(bigwig) == 1:
            _worker_init(layout)
            for path, res, name in progress(list(zip(bigwig, results, names)), desc="bigWigs",
                                            total=len(bigwig), unit="bigWig"):
                _, out, st = _worker_task(path, reader, res, name, outdir, params, mask_uncovered)
                _log_track(name, path, res, layout, st, reader)
                written[name] = out
            _WORKER.clear()
        else:
            import concurrent.futures as cf
            import multiprocessing as mp

            ctx = mp.get_context("fork" if sys.platform == "linux" else "spawn")
            with cf.ProcessPoolExecutor(max_workers=min(jobs, len(bigwig)), mp_context=ctx,
                                        initializer=_worker_init, initargs=(layout,)) as pool:
                futs = [pool.submit(_worker_task, path, reader, res, name, outdir, params, mask_uncovered)
                        for path, res, name in zip(bigwig, results, names)]
                for fut in progress(cf.as_completed(futs), desc="bigWigs", total=len(futs),
                                    unit="bigWig"):
                    name, out, st = fut.result()
                    k = names.index(name)
                    _log_track(name, bigwig[k], results[k], layout, st, reader)
                    written[name] = out
            written = {n: written[n] for n in names}
    return written
