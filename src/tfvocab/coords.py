"""Promoter and window geometry: the one place that maps gene-relative offsets to the genome.

Conventions (all 0-based, half-open):

* ``start_codon`` is the genomic coordinate of the first base of the start codon *in the gene's
  orientation*: the lowest CDS coordinate on ``+``, the highest on ``-``.
* An *offset* ``o`` is a position relative to the start codon in the gene's orientation
  (``o = 0`` is the A of ATG, ``o < 0`` is upstream). ``genomic(o) = sc + o`` on ``+`` and
  ``sc - o`` on ``-``.
* The promoter spans offsets ``-upstream .. +downstream`` inclusive (2,501 bp by default).
* Windows are anchored at the start codon: window ``k`` covers offsets
  ``[-upstream + k*stride, -upstream + k*stride + width)``; windows are listed 5'->3' in the
  gene's orientation (upstream first), so minus-strand promoters are read reversed.
  With the defaults (2000, 500, 50, 50) there are 50 windows, offsets -2000..+499.

This matches deepTools ``computeMatrix reference-point -b 2000 -a 500 --binSize 50`` with a
one-base BED interval at the start codon.
"""
from __future__ import annotations

import numpy as np

UPSTREAM = 2000
DOWNSTREAM = 500
WINDOW = 50
STRIDE = 50


def window_offsets(upstream: int = UPSTREAM, downstream: int = DOWNSTREAM,
                   width: int = WINDOW, stride: int = STRIDE) -> np.ndarray:
    """Start offsets (bp, relative to the start codon) of the windows, shape (W,), int64."""
    span = upstream + downstream + 1
    if width <= 0 or stride <= 0 or width > span:
        raise ValueError(f"window width {width} / stride {stride} do not fit a {span} bp promoter")
    n = (span - width) // stride + 1
    return -upstream + stride * np.arange(n, dtype=np.int64)


def promoter_interval(start_codon, strand, upstream: int = UPSTREAM,
                      downstream: int = DOWNSTREAM):
    """Genomic half-open promoter interval(s) ``(start, end)``.

    ``start_codon``: int or array (G,); ``strand``: '+'/'-' or array (G,) of them.
    Returns int64 arrays (or scalars) ``start, end``; not clipped to the chromosome.
    """
    sc = np.asarray(start_codon, dtype=np.int64)
    minus = np.asarray(strand) == "-"
    start = np.where(minus, sc - downstream, sc - upstream)
    end = np.where(minus, sc + upstream + 1, sc + downstream + 1)
    if start.ndim == 0:
        return int(start), int(end)
    return start, end


def window_intervals(start_codon, strand, offsets: np.ndarray | None = None, width: int = WINDOW):
    """Genomic half-open intervals of every window, in gene orientation.

    ``start_codon``, ``strand``: arrays (G,). ``offsets``: (W,) window start offsets
    (default :func:`window_offsets`). Returns ``starts, ends``: int64 arrays (G, W), where column
    ``k`` is window ``k`` counted 5'->3' in the gene's orientation.
    """
    if offsets is None:
        offsets = window_offsets(width=width)
    sc = np.asarray(start_codon, dtype=np.int64).reshape(-1, 1)
    minus = (np.asarray(strand) == "-").reshape(-1, 1)
    off = np.asarray(offsets, dtype=np.int64).reshape(1, -1)
    plus_start = sc + off
    minus_start = sc - off - width + 1
    starts = np.where(minus, minus_start, plus_start)
    return starts, starts + width


def genomic_to_offset(pos, start_codon, strand):
    """Offset(s) (bp, gene orientation) of genomic position(s) ``pos`` for the given gene(s)."""
    pos = np.asarray(pos, dtype=np.int64)
    sc = np.asarray(start_codon, dtype=np.int64)
    return np.where(np.asarray(strand) == "-", sc - pos, pos - sc)
