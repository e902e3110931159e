"""``normalized.h5`` (kind ``normalized``): the normalised (genes, windows, TFs) tensor + per-TF stats.

Layout (docs/formats.md): ``genes`` (G,), ``tfs`` (T kept,), ``window_start`` (W,), ``signal``
float32 (G, W, T) NaN where missing, ``mask`` bool (G, W, T), optional ``dropped_tfs``; group
``stats``: one (T_all,) dataset per statistic (``tfs`` names every input TF) and the
normalisation's settings as attributes. Root attrs: geometry, lineage ``{"promoters", "signal"}``,
``stats_digest`` (digest of the stats group: the transform's identity, recorded by models so
new genes are normalised the same way), ``artifact_id``, ``low_signal_tfs``, ``dropped_tfs``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..io import PROVENANCE_ATTR, atomic_path, read_strings, write_strings
from .core import (H5Reader, ATTR_ID, ATTR_LINEAGE, Geometry, digest, geometry_from_attrs, json_attr,
                   reading, require_datasets, require_shape, set_identity)

BLOCK = 256
SPEC = {"genes": (1, "O"), "tfs": (1, "O"), "window_start": (1, "i"), "signal": (3, "f"),
        "mask": (3, "b")}


def _plain(v):
    if isinstance(v, np.generic):
        return v.item()
    return v.decode() if isinstance(v, bytes) else v


def stats_digest(stats: Mapping) -> str:
    """Digest of a stats record ``{"tfs", "arrays": {name: (T,)}, "attrs": {...}}``."""
    arrays = stats["arrays"]
    return digest("stats", list(stats["tfs"]), sorted(arrays),
                  *[np.asarray(arrays[k]) for k in sorted(arrays)],
                  {k: _plain(v) for k, v in sorted(stats.get("attrs", {}).items())})


def write_stats_group(group, stats: Mapping) -> None:
    write_strings(group, "tfs", stats["tfs"])
    for name, arr in stats["arrays"].items():
        group.create_dataset(name, data=np.asarray(arr))
    for k, v in stats.get("attrs", {}).items():
        group.attrs[k] = v


def read_stats_group(group) -> dict:
    arrays = {k: group[k][()] for k in group if k != "tfs"}
    return {"tfs": read_strings(group["tfs"]), "arrays": arrays,
            "attrs": {k: _plain(v) for k, v in group.attrs.items()}}


class NormalizedWriter:
    """Streaming writer of ``normalized.h5`` (context manager; :meth:`write` gene blocks)."""

    def __init__(self, path, *, genes: Sequence[str], tfs: Sequence[str], geometry: Geometry,
                 stats: Mapping, lineage: Mapping, dropped: Sequence[str] = (),
                 attrs: Mapping | None = None, prov: Mapping | None = None):
        self.path, self.genes, self.tfs, self.geometry = Path(path), list(genes), list(tfs), geometry
        self.stats, self.lineage, self.dropped = stats, dict(lineage), list(dropped)
        self.attrs, self.prov = dict(attrs or {}), prov

    def __enter__(self):
        import h5py

        self._atomic = atomic_path(self.path)
        tmp = self._atomic.__enter__()
        self.h5 = h5py.File(tmp, "w")
        G, W, T = len(self.genes), self.geometry.n_windows, len(self.tfs)
        write_strings(self.h5, "genes", self.genes)
        write_strings(self.h5, "tfs", self.tfs)
        self.h5.create_dataset("window_start", data=self.geometry.window_start)
        chunk = (max(1, min(G, BLOCK)), W, max(T, 1))
        self.ds = {"signal": self.h5.create_dataset("signal", (G, W, T), np.float32, chunks=chunk),
                   "mask": self.h5.create_dataset("mask", (G, W, T), bool, chunks=chunk)}
        return self

    def write(self, lo: int, signal: np.ndarray, mask: np.ndarray) -> None:
        self.ds["signal"][lo:lo + len(signal)] = signal
        self.ds["mask"][lo:lo + len(mask)] = mask

    def __exit__(self, et, ev, tb):
        try:
            if et is None:
                write_stats_group(self.h5.create_group("stats"), self.stats)
                if self.dropped:
                    write_strings(self.h5, "dropped_tfs", self.dropped)
                sd = stats_digest(self.stats)
                for k, v in self.attrs.items():
                    self.h5.attrs[k] = v
                self.h5.attrs["stats_digest"] = sd
                self.h5.attrs["dropped_tfs"] = json.dumps(self.dropped)
                lineage = {**self.lineage, "stats": sd}
                aid = digest("normalized", lineage, self.tfs)
                set_identity(self.h5, "normalized", self.geometry, lineage, aid, self.prov)
        finally:
            self.h5.close()
        return self._atomic.__exit__(et, ev, tb)


class NormalizedFile(H5Reader):
    """Validated reader of ``normalized.h5``.

    Header: ``genes``, ``tfs``, ``geometry``, ``window_start``, ``shape`` (G, W, T), ``stats``
    (record of :func:`read_stats_group`), ``stats_digest``, ``dropped_tfs``, ``lineage``,
    ``artifact_id``, ``attrs``, ``provenance``. Arrays are read on demand: :meth:`rows` (any gene
    rows, sorted unique), :meth:`block`. Use as a context manager or :meth:`close`.
    """

    kind = "normalized"

    def _validate(self):
        f, path = self.f, self.path
        require_datasets(f, path, self.kind, SPEC)
        self.genes = read_strings(f["genes"])
        self.tfs = read_strings(f["tfs"])
        self.window_start = f["window_start"][()].astype(np.int64)
        self.shape = (len(self.genes), len(self.window_start), len(self.tfs))
        for name in ("signal", "mask"):
            require_shape(path, self.kind, name, f[name].shape, self.shape)
        self.geometry = geometry_from_attrs(f.attrs, self.window_start, path)
        self.stats = read_stats_group(f["stats"]) if "stats" in f else None
        self.stats_digest = str(_plain(f.attrs.get("stats_digest", "")))
        self.dropped_tfs = read_strings(f["dropped_tfs"]) if "dropped_tfs" in f else []
        self.lineage = json_attr(f.attrs, ATTR_LINEAGE, {})
        self.artifact_id = str(_plain(f.attrs.get(ATTR_ID, "")))
        self.attrs = {k: _plain(v) for k, v in f.attrs.items()}
        self.provenance = json_attr(f.attrs, PROVENANCE_ATTR, {})
        self._sig, self._msk = f["signal"], f["mask"]

    def rows(self, uniq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw ``signal`` (n, W, T) and ``mask`` (n, W, T) of sorted unique file rows ``uniq``.

        One contiguous slab when the rows are dense in their span, else a point selection.
        """
        uniq = np.asarray(uniq, np.int64)
        with reading(self.path, self.kind):
            if len(uniq) == 0:
                return (np.empty((0,) + self.shape[1:], np.float32),
                        np.empty((0,) + self.shape[1:], bool))
            lo, hi = int(uniq[0]), int(uniq[-1]) + 1
            if hi - lo <= 2 * len(uniq):
                sig, msk = self._sig[lo:hi], self._msk[lo:hi]
                if hi - lo != len(uniq):
                    sig, msk = sig[uniq - lo], msk[uniq - lo]
                return sig, msk
            return self._sig[uniq], self._msk[uniq]

    def block(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        with reading(self.path, self.kind):
            return self._sig[lo:hi], self._msk[lo:hi]



def read_stats(path) -> dict:
    """The stats record of a ``normalized.h5`` (for ``normalize --stats``)."""
    with NormalizedFile(path) as nf:
        if nf.stats is None:
            from ..errors import TfvocabError

            raise TfvocabError("no 'stats' group: not a complete normalized.h5", path=str(path),
                               hint="rerun `tfvocab normalize`")
        return nf.stats
