"""Opening one track for ``extract``: the bigWig readers and peak files behind one interface.

:func:`open_track` opens a bigWig (with the reader named by ``--reader``: ``native``,
:class:`tfvocab.data.bigwig.BigWigFile`; ``pybigtools``; ``pybigwig``) or a peak file
(:class:`tfvocab.data.peaks.PeakTrack`); every reader returns a chromosome's records as the same
interval arrays (:class:`BigWigReader`), so every reader gives identical ``signal.<tf>.h5``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import TfvocabError
from .windowstats import in_spans


READERS = ("native", "pybigtools", "pybigwig")
DEFAULT_READER = "native"


# --------------------------------------------------------------------------------------------
# bigWig readers: each returns a chromosome's records as interval arrays
# --------------------------------------------------------------------------------------------
class BigWigReader:
    """Reader of one bigWig: ``chroms`` {name: length}; :meth:`intervals` of a chromosome.

    Every reader returns the same arrays for the same file (the bigWig's own records with their
    values as stored, NaN and +-inf included; empty records dropped), so every reader gives
    identical ``signal.<tf>.h5``.
    """

    name = "?"

    def __init__(self, path: str | Path):
        self.path = str(path)
        self.chroms: dict[str, int] = {}

    def intervals(self, chrom: str, spans: tuple[np.ndarray, np.ndarray] | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Records of ``chrom``: ``starts``, ``ends`` int64 (n,) (0-based, half-open, sorted,
        non-overlapping) and ``values`` float32 (n,) (as stored: may hold NaN / +-inf).
        ``spans``: optional sorted disjoint ``(lo, hi)`` int64 arrays (bp); records outside
        them may be left out."""
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - trivial
        pass


class NativeReader(BigWigReader):
    """:class:`tfvocab.data.bigwig.BigWigFile` (numpy + zlib); decodes only the data blocks that
    overlap ``spans``."""

    name = "native"

    def __init__(self, path):
        super().__init__(path)
        from .bigwig import BigWigFile

        self._bw = BigWigFile(self.path)
        self.chroms = dict(self._bw.chroms)

    def intervals(self, chrom, spans=None):
        blocks = None
        if spans is not None:
            blocks = in_spans(*self._bw.blocks(chrom), spans)
        return self._bw.intervals(chrom, blocks)

    def close(self):
        self._bw.close()


def _records_to_arrays(records, path: str, chrom: str):
    """Iterable of (start, end, value) tuples -> cleaned interval arrays (see BigWigReader)."""
    import itertools

    flat = np.fromiter(itertools.chain.from_iterable(records), dtype=np.float64).reshape(-1, 3)
    from .bigwig import clean_intervals

    return clean_intervals(flat[:, 0].astype(np.int64), flat[:, 1].astype(np.int64),
                           flat[:, 2].astype(np.float32), path=path, chrom=chrom)


class PyBigWigReader(BigWigReader):
    """pyBigWig (libBigWig) ``intervals``, ``chunk`` bp at a time (Python tuples: slower)."""

    name = "pybigwig"
    chunk = 1_000_000

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

    def intervals(self, chrom, spans=None):
        import itertools

        length = self.chroms[chrom]

        def chunks():
            # pyBigWig returns whole records overlapping [lo, hi): keep those starting in it
            # (the first chunk keeps all), so a record spanning a chunk edge is read once
            for lo in range(0, length, self.chunk):
                recs = self._bw.intervals(chrom, lo, min(lo + self.chunk, length)) or ()
                yield recs if lo == 0 else (r for r in recs if r[0] >= lo)

        try:
            return _records_to_arrays(itertools.chain.from_iterable(chunks()), self.path, chrom)
        except RuntimeError as exc:
            raise TfvocabError(f"cannot read values ({exc})", path=self.path, record=f"chromosome {chrom}",
                               hint="the bigWig may be corrupt") from None

    def close(self):
        self._bw.close()


class PybigtoolsReader(BigWigReader):
    """pybigtools (Rust) ``records`` of whole chromosomes, streamed (Python tuples: slower)."""

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

    def intervals(self, chrom, spans=None):
        try:
            return _records_to_arrays(self._bw.records(chrom), self.path, chrom)
        except TfvocabError:
            raise
        except Exception as exc:  # corrupt data blocks
            raise TfvocabError(f"cannot read values ({exc})", path=self.path, record=f"chromosome {chrom}",
                               hint="the bigWig may be corrupt") from None

    def close(self):
        self._bw.close()


def open_track(path: str | Path, kind: str = "bigwig", reader: str = DEFAULT_READER,
               peak_value: str = "auto"):
    """Open one track: a bigWig (``kind`` ``bigwig`` or ``control``) with the named reader, or
    a peak file (``peaks``) as a :class:`tfvocab.data.peaks.PeakTrack` (same record interface)."""
    if kind == "peaks":
        from .peaks import PeakTrack

        return PeakTrack(path, peak_value)
    return open_bigwig(path, reader)


def open_bigwig(path: str | Path, reader: str = DEFAULT_READER) -> BigWigReader:
    """Open ``path`` with the named reader (``native``, ``pybigtools`` or ``pybigwig``)."""
    cls = {"native": NativeReader, "pybigtools": PybigtoolsReader,
           "pybigwig": PyBigWigReader}.get(reader.lower())
    if cls is None:
        raise TfvocabError(f"unknown bigWig reader '{reader}'", hint=f"one of {', '.join(READERS)}")
    return cls(path)
