"""Minimal bigWig decoder (numpy + zlib): a chromosome's data records as interval arrays.

``tfvocab extract`` needs, per chromosome, the bigWig's records as three arrays
(``starts``, ``ends`` int64 (n,), half-open, 0-based; ``values`` float32 (n,)), not per-base
values nor Python tuples. pyBigWig/pybigtools only hand records out as tuples (~0.2 us each),
so this module reads the file format directly (UCSC bigWig, Kent et al. 2010; the layout used
by libBigWig and pybigtools):

* header (64 bytes) -> chromosome B+ tree (name -> id, length) and the R-tree data index;
* the R-tree leaves list every data block (chromosome id, start, end, file offset, size);
* each block (zlib-compressed when the header's ``uncompressBufSize`` > 0) holds one section:
  a 24-byte header (chromId, start, end, itemStep, itemSpan, type, reserved, itemCount) and
  ``itemCount`` items of type 1 bedGraph (start, end, value), 2 varStep (start, value) or
  3 fixedStep (value; start = section start + i * itemStep, span itemSpan).

Only the blocks asked for are decompressed (``intervals(chrom, blocks=...)``), so memory and
time follow the bases covered by the request, not the file. Records are returned in genomic
order with their values as stored (NaN and +-inf included: what they mean is decided by
``tfvocab extract``, :func:`tfvocab.data.windowstats.screen_records`); records of zero length are
dropped. Both byte orders are read. Zoom levels, bigBed files and the summary are not used.
"""
from __future__ import annotations

import mmap
import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import TfvocabError

BIGWIG_MAGIC = 0x888FFC26
BIGBED_MAGIC = 0x8789F2EB
_CHROM_TREE_MAGIC = 0x78CA8C91
_RTREE_MAGIC = 0x2468ACE0


class BigWigFile:
    """An open bigWig: ``chroms`` {name: length}; :meth:`blocks`, :meth:`intervals`."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        try:
            self._fh = open(self.path, "rb")
        except FileNotFoundError:
            raise TfvocabError("bigWig file not found", path=self.path) from None
        except OSError as exc:
            raise TfvocabError(f"cannot open bigWig ({exc})", path=self.path) from None
        try:
            self._mm = mmap.mmap(self._fh.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:                                    # empty file
            self._fh.close()
            raise TfvocabError("not a readable bigWig (empty file)", path=self.path) from None
        try:
            self._parse()
        except TfvocabError:
            self.close()
            raise
        except (struct.error, ValueError, IndexError, RecursionError) as exc:
            self.close()
            raise TfvocabError(f"not a readable bigWig ({exc})", path=self.path,
                               hint="the file is corrupt, truncated or not a bigWig") from None

    # ------------------------------------------------------------------ header and indexes
    def _parse(self) -> None:
        mm = self._mm
        if len(mm) < 64:
            raise TfvocabError("not a readable bigWig (shorter than its header)", path=self.path)
        (magic,) = struct.unpack_from("<I", mm, 0)
        if magic == BIGWIG_MAGIC:
            e = "<"
        elif struct.unpack_from(">I", mm, 0)[0] == BIGWIG_MAGIC:
            e = ">"
        elif BIGBED_MAGIC in (magic, struct.unpack_from(">I", mm, 0)[0]):
            raise TfvocabError("not a bigWig (a bigBed?)", path=self.path)
        else:
            raise TfvocabError("not a readable bigWig (bad magic number)", path=self.path,
                               hint="the file is corrupt, empty or not a bigWig")
        self._e = e
        (_, _, _, ctree, _, findex, _, _, _, _, ubuf) = struct.unpack_from(e + "IHHQQQHHQQI", mm, 0)
        self.compressed = ubuf > 0
        # chromosome B+ tree
        magic, _, key_size, _, _ = struct.unpack_from(e + "IIIIQ", mm, ctree)
        if magic != _CHROM_TREE_MAGIC:
            raise TfvocabError("not a readable bigWig (bad chromosome index)", path=self.path)
        names: dict[str, tuple[int, int]] = {}
        stack = [ctree + 32]
        while stack:
            off = stack.pop()
            leaf, _, count = struct.unpack_from(e + "BBH", mm, off)
            off += 4
            for _ in range(count):
                key = bytes(mm[off:off + key_size]).rstrip(b"\0").decode()
                off += key_size
                if leaf:
                    cid, size = struct.unpack_from(e + "II", mm, off)
                    names[key] = (cid, size)
                else:
                    stack.append(struct.unpack_from(e + "Q", mm, off)[0])
                off += 8
        self.chroms = {k: v[1] for k, v in sorted(names.items(), key=lambda kv: kv[1][0])}
        self._cid = {k: v[0] for k, v in names.items()}
        # R-tree of data blocks: collect all leaves
        magic = struct.unpack_from(e + "I", mm, findex)[0]
        if magic != _RTREE_MAGIC:
            raise TfvocabError("not a readable bigWig (bad data index)", path=self.path)
        leaf_t = np.dtype([("sc", e + "u4"), ("sb", e + "u4"), ("ec", e + "u4"), ("eb", e + "u4"),
                           ("off", e + "u8"), ("size", e + "u8")])
        node_t = np.dtype([("sc", e + "u4"), ("sb", e + "u4"), ("ec", e + "u4"), ("eb", e + "u4"),
                           ("child", e + "u8")])
        leaves = []
        stack = [findex + 48]
        while stack:
            off = stack.pop()
            leaf, _, count = struct.unpack_from(e + "BBH", mm, off)
            if leaf:
                leaves.append(np.frombuffer(mm[off + 4:off + 4 + count * leaf_t.itemsize], dtype=leaf_t))
            else:
                kids = np.frombuffer(mm[off + 4:off + 4 + count * node_t.itemsize], dtype=node_t)["child"]
                stack.extend(int(c) for c in kids[::-1])
        lv = np.concatenate(leaves) if leaves else np.zeros(0, dtype=leaf_t)
        if lv.size and (lv["off"] + lv["size"] > len(mm)).any():
            raise TfvocabError("not a readable bigWig (data index points past the end; truncated?)",
                               path=self.path)
        lv = lv[np.lexsort((lv["sb"], lv["sc"]))]
        self._blk_chrom = lv["sc"].astype(np.int64)
        self._blk_start = lv["sb"].astype(np.int64)
        self._blk_end = lv["eb"].astype(np.int64)
        self._blk_ec = lv["ec"].astype(np.int64)
        self._blk_off = lv["off"].astype(np.int64)
        self._blk_size = lv["size"].astype(np.int64)

    # ------------------------------------------------------------------ data
    def blocks(self, chrom: str) -> tuple[np.ndarray, np.ndarray]:
        """Genomic span of each data block of ``chrom``: ``starts``, ``ends`` int64 (B,), bp."""
        sel = self._block_rows(chrom)
        return self._blk_start[sel], np.where(self._blk_ec[sel] > self._cid[chrom],
                                              np.iinfo(np.int64).max, self._blk_end[sel])

    def _block_rows(self, chrom: str) -> np.ndarray:
        cid = self._cid[chrom]
        lo, hi = np.searchsorted(self._blk_chrom, [cid, cid + 1])
        return np.arange(lo, hi)

    def intervals(self, chrom: str, blocks: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Data records of ``chrom``: ``starts``, ``ends`` int64 (n,) and ``values`` float32 (n,).

        ``blocks``: optional bool mask (B,) over :meth:`blocks` — only those blocks are
        decoded (records of skipped blocks are absent). Records are sorted, non-overlapping
        (checked), empty records removed; values as stored (non-finite ones included).
        """
        rows = self._block_rows(chrom)
        if blocks is not None:
            rows = rows[np.asarray(blocks, dtype=bool)]
        cid = self._cid[chrom]
        e = self._e
        u4, f4 = np.dtype(e + "u4"), np.dtype(e + "f4")
        bed_t = np.dtype([("s", u4), ("e", u4), ("v", f4)])
        var_t = np.dtype([("s", u4), ("v", f4)])
        mm = self._mm                                      # slices are bytes copies: no exported buffers
        sections = []                                      # (buf, pos, start, step, span, type, count)
        total = 0
        try:
            for off, size in zip(self._blk_off[rows].tolist(), self._blk_size[rows].tolist()):
                raw = mm[off:off + size]
                buf = zlib.decompress(raw) if self.compressed else bytes(raw)
                pos = 0
                while pos + 24 <= len(buf):                 # a block may hold several sections
                    c, start, _, step, span, typ, _, n = struct.unpack_from(e + "IIIIIBBH", buf, pos)
                    pos += 24
                    nbytes = {1: 12, 2: 8, 3: 4}.get(typ, 0) * n
                    if not nbytes and n:
                        raise ValueError(f"unknown section type {typ}")
                    if pos + nbytes > len(buf):
                        raise ValueError("section longer than its block")
                    if c == cid and n:
                        sections.append((buf, pos, start, step, span, typ, n))
                        total += n
                    pos += nbytes
        except (zlib.error, ValueError, struct.error) as exc:
            raise TfvocabError(f"cannot read values ({exc})", path=self.path, record=f"chromosome {chrom}",
                               hint="the bigWig may be corrupt") from None
        starts = np.empty(total, dtype=np.int64)
        ends = np.empty(total, dtype=np.int64)
        values = np.empty(total, dtype=np.float32)
        check = False                                      # order/overlap/empty need a full pass
        o, prev_end = 0, -1
        for buf, pos, start, step, span, typ, n in sections:
            s, en, v = starts[o:o + n], ends[o:o + n], values[o:o + n]
            if typ == 3:
                v[:] = np.frombuffer(buf, f4, n, pos)
                np.multiply(np.arange(n, dtype=np.int64), step, out=s)
                s += start
                np.add(s, span, out=en)
                check |= span == 0 or step < span
            else:
                rec = np.frombuffer(buf, bed_t if typ == 1 else var_t, n, pos)
                s[:] = rec["s"]
                if typ == 1:
                    en[:] = rec["e"]
                else:
                    np.add(s, span, out=en)
                v[:] = rec["v"]
                check |= bool((en <= s).any() or (s[1:] < en[:-1]).any())
            check |= bool(s[0] < prev_end)
            prev_end = int(en[-1])
            o += n
        if check:
            return clean_intervals(starts, ends, values, path=self.path, chrom=chrom)
        return starts, ends, values

    def close(self) -> None:
        mm = getattr(self, "_mm", None)
        if mm is not None:
            mm.close()
            self._mm = None
        if getattr(self, "_fh", None) is not None:
            self._fh.close()
            self._fh = None


def clean_intervals(starts: np.ndarray, ends: np.ndarray, values: np.ndarray, path: str = "?",
                    chrom: str = "?") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drop records of zero length; check sorted and non-overlapping.

    ``starts``, ``ends`` int64 (n,), ``values`` float (n,) (any values: NaN and +-inf are kept,
    see :func:`tfvocab.data.windowstats.screen_records`). Returns the kept records (views when nothing
    is dropped). Overlapping or unsorted records raise :class:`TfvocabError`.
    """
    bad = ends <= starts
    if bad.any():
        if (ends < starts).any():
            raise TfvocabError("a record ends before it starts", path=path, record=f"chromosome {chrom}",
                               hint="the bigWig may be corrupt")
        keep = ~bad
        starts, ends, values = starts[keep], ends[keep], values[keep]
    if starts.size > 1 and (starts[1:] < ends[:-1]).any():
        i = int(np.flatnonzero(starts[1:] < ends[:-1])[0])
        raise TfvocabError(f"overlapping or unsorted records ({starts[i]}-{ends[i]} and "
                           f"{starts[i + 1]}-{ends[i + 1]})", path=path, record=f"chromosome {chrom}",
                           hint="a bigWig's records must be sorted and non-overlapping (bedGraphToBigWig "
                                "enforces it)")
    return starts, ends, values
