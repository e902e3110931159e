"""``signal.<tf>.h5`` (one extracted track) and ``signal.h5`` (the merged tensor).

Layouts (docs/formats.md):

* ``signal.<tf>.h5`` (kind ``signal_track``): ``genes`` (G,), ``window_start`` (W,), ``mean``,
  ``max`` float32 (G, W), ``mask`` bool (G, W); attrs ``tf``, ``bigwig`` (source file), the
  geometry and lineage ``{"promoters": digest}``.
* ``signal.h5`` (kind ``signal``): ``genes``, ``tfs`` (T,), ``window_start``, ``signal`` (mean)
  and ``max`` float32 (G, W, T), ``mask`` bool (G, W, T), optional controls ``controls`` (C,),
  ``tf_control`` int64 (T,), ``control_signal`` float32 / ``control_mask`` bool (G, W, C);
  lineage ``{"promoters", "tracks": [track ids]}``.

Writers stream gene blocks (memory O(block x W x T)); readers validate kind, datasets, shapes and
dtypes on open and read gene blocks on demand. Values are coverage: :meth:`SignalFile.chunks`
refuses an unmasked window (TF or control) that is infinite or below 0 (:func:`check_coverage`;
``extract`` never writes one, a file from a signed track or another tool may hold them).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import numpy as np

from ..errors import TfvocabError
from ..io import PROVENANCE_ATTR, atomic_path, read_strings, write_strings
from .core import (H5Reader, ATTR_ID, ATTR_LINEAGE, Geometry, check_lineage, digest, geometry_from_attrs,
                   json_attr, open_h5, reading, require_datasets, require_shape, set_identity,
                   strings_digest)

BLOCK = 256
TRACK_SPEC = {"genes": (1, "O"), "window_start": (1, "i"), "mean": (2, "f"), "max": (2, "f"),
              "mask": (2, "b")}
SIGNAL_SPEC = {"genes": (1, "O"), "tfs": (1, "O"), "window_start": (1, "i"), "signal": (3, "f"),
               "max": (3, "f"), "mask": (3, "b")}
GZIP = {"compression": "gzip", "compression_opts": 1}


def _plain(v):
    return v.item() if isinstance(v, np.generic) else (v.decode() if isinstance(v, bytes) else v)


# ----------------------------------------------------------------------------------------------
# signal.<tf>.h5


def track_id(promoters: str, geometry: Geometry, tf: str, mean: np.ndarray, mask: np.ndarray) -> str:
    return digest("signal_track", promoters, geometry.to_dict(), tf, mean, mask)


def write_track(path: str | Path, *, tf: str, source: str, genes: Sequence[str], geometry: Geometry,
                mean: np.ndarray, max_: np.ndarray, mask: np.ndarray, promoters: str,
                attrs: Mapping | None = None, prov: Mapping | None = None) -> Path:
    """Atomically write one ``signal.<tf>.h5``; ``promoters`` is the promoters.tsv digest."""
    import h5py

    G, W = mean.shape
    chunks = (max(1, min(G, BLOCK)), W) if G and W else None
    with atomic_path(path) as tmp, h5py.File(tmp, "w", track_order=False) as h5:
        write_strings(h5, "genes", genes)
        h5.create_dataset("window_start", data=geometry.window_start)
        for name, arr in (("mean", mean), ("max", max_), ("mask", mask)):
            h5.create_dataset(name, data=arr, chunks=chunks, **(GZIP if chunks else {}))
        h5.attrs["tf"] = tf
        h5.attrs["bigwig"] = str(source)
        for k, v in (attrs or {}).items():
            h5.attrs[k] = v
        set_identity(h5, "signal_track", geometry, {"promoters": promoters},
                     track_id(promoters, geometry, tf, mean, mask), prov)
    return Path(path)


@dataclass
class Track:
    """Header of one ``signal.<tf>.h5`` (no arrays held): see :func:`read_track`."""

    path: str
    tf: str
    n_genes: int
    genes_digest: str
    geometry: Geometry
    lineage: dict
    artifact_id: str
    attrs: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)

    def genes(self) -> list[str]:
        with open_h5(self.path, "signal_track") as h5:
            return read_strings(h5["genes"])

    def open(self):
        """An open reader: ``block(lo, hi) -> (mean, max, mask)`` (rows lo..hi); ``close()``."""
        return _TrackBlocks(self.path)


class _TrackBlocks:
    def __init__(self, path: str):
        import h5py

        self.path = path
        with reading(path, "signal_track"):
            self._h5 = h5py.File(path, "r", rdcc_nbytes=0)   # every chunk read once: no cache
            self._ds = [self._h5[k] for k in ("mean", "max", "mask")]

    def block(self, lo: int, hi: int):
        with reading(self.path, "signal_track"):
            return tuple(d[lo:hi] for d in self._ds)

    def close(self):
        self._h5.close()


def read_track(path: str | Path) -> Track:
    """Validated header of a ``signal.<tf>.h5`` (kind, datasets, shapes, geometry, lineage)."""
    with open_h5(path, "signal_track") as h5:
        require_datasets(h5, path, "signal_track", TRACK_SPEC)
        genes = read_strings(h5["genes"])
        ws = h5["window_start"][()]
        shape = (len(genes), len(ws))
        for name in ("mean", "max", "mask"):
            require_shape(path, "signal_track", name, h5[name].shape, shape)
        geo = geometry_from_attrs(h5.attrs, ws, path)
        tf = _plain(h5.attrs.get("tf", Path(path).name.removeprefix("signal.").removesuffix(".h5")))
        return Track(path=str(path), tf=str(tf), n_genes=len(genes),
                     genes_digest=strings_digest(genes), geometry=geo,
                     lineage=json_attr(h5.attrs, ATTR_LINEAGE, {}),
                     artifact_id=str(_plain(h5.attrs.get(ATTR_ID, ""))),
                     attrs={k: _plain(v) for k, v in h5.attrs.items()
                            if k not in ("tf", PROVENANCE_ATTR, ATTR_LINEAGE, ATTR_ID)},
                     provenance=json_attr(h5.attrs, PROVENANCE_ATTR, {}))


def check_tracks(tracks: Sequence[Track]) -> None:
    """All tracks come from one promoters.tsv with one geometry, and TF names are unique."""
    seen: dict[str, str] = {}
    for t in tracks:
        if t.tf in seen:
            raise TfvocabError(f"TF name '{t.tf}' also comes from {seen[t.tf]}", path=t.path,
                               hint="each TF must be extracted once (rename with extract --tf)")
        seen[t.tf] = t.path
    check_lineage("promoters", [(t.path, t.lineage) for t in tracks], "promoters",
                  "extract every track from the same promoters.tsv")
    ref = tracks[0]
    for t in tracks[1:]:
        if t.geometry != ref.geometry:
            raise TfvocabError(f"window geometry {t.geometry.describe()} differs from "
                               f"{ref.geometry.describe()} in {ref.path}", path=t.path,
                               hint="extract every track with the same --window/--stride")
        if t.genes_digest != ref.genes_digest:
            if t.n_genes != ref.n_genes:
                rec = f"{t.n_genes} genes vs {ref.n_genes} in {ref.path}"
            else:
                a, b = t.genes(), ref.genes()
                i = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
                rec = f"gene {i + 1} is '{a[i]}' vs '{b[i]}' in {ref.path}"
            raise TfvocabError("gene list differs", path=t.path, record=rec,
                               hint="extract every track from the same promoters.tsv")


# ----------------------------------------------------------------------------------------------
# signal.h5


def signal_id(promoters: str, tracks: Sequence[str], tfs: Sequence[str], controls: Sequence[str]) -> str:
    return digest("signal", promoters, list(tracks), list(tfs), list(controls))


class SignalWriter:
    """Streaming writer of ``signal.h5``: create, :meth:`write` gene blocks, :meth:`close`.

    Use as a context manager on a path from :func:`tfvocab.publish.step_outputs` (or any path:
    the file is written to a temporary name and renamed on success).
    """

    def __init__(self, path, *, genes: Sequence[str], tfs: Sequence[str], geometry: Geometry,
                 controls: Sequence[str] = (), tf_control: np.ndarray | None = None,
                 lineage: Mapping, attrs: Mapping | None = None, prov: Mapping | None = None):
        self.path, self.genes, self.tfs, self.geometry = Path(path), list(genes), list(tfs), geometry
        self.controls = list(controls)
        self.tf_control = tf_control
        self.lineage, self.attrs, self.prov = dict(lineage), dict(attrs or {}), prov

    def __enter__(self):
        import h5py

        self._atomic = atomic_path(self.path)
        tmp = self._atomic.__enter__()
        self.h5 = h5py.File(tmp, "w", rdcc_nbytes=0)
        G, W, T, C = len(self.genes), self.geometry.n_windows, len(self.tfs), len(self.controls)
        bs = max(1, min(G, BLOCK))
        write_strings(self.h5, "genes", self.genes)
        write_strings(self.h5, "tfs", self.tfs)
        self.h5.create_dataset("window_start", data=self.geometry.window_start)
        self.ds = {name: self.h5.create_dataset(name, (G, W, T), dt, chunks=(bs, W, max(T, 1)), **GZIP)
                   for name, dt in (("signal", np.float32), ("max", np.float32), ("mask", bool))}
        if C:
            write_strings(self.h5, "controls", self.controls)
            self.h5.create_dataset("tf_control", data=np.asarray(self.tf_control, np.int64))
            for name, dt in (("control_signal", np.float32), ("control_mask", bool)):
                self.ds[name] = self.h5.create_dataset(name, (G, W, C), dt, chunks=(bs, W, C), **GZIP)
            self.h5.attrs["control"] = ",".join(self.controls)
        return self

    def write(self, lo: int, **blocks: np.ndarray) -> None:
        """Write gene rows ``lo..`` of any of signal/max/mask/control_signal/control_mask."""
        for name, arr in blocks.items():
            self.ds[name][lo:lo + len(arr)] = arr

    def __exit__(self, et, ev, tb):
        try:
            if et is None:
                for k, v in self.attrs.items():
                    self.h5.attrs[k] = v
                aid = signal_id(self.lineage.get("promoters", ""), self.lineage.get("tracks", []),
                                self.tfs, self.controls)
                set_identity(self.h5, "signal", self.geometry, self.lineage, aid, self.prov)
        finally:
            self.h5.close()
        return self._atomic.__exit__(et, ev, tb)


class SignalFile(H5Reader):
    """Validated reader of ``signal.h5``: header attributes, then gene blocks via :meth:`chunks`.

    ``genes``, ``tfs`` (lists), ``geometry``, ``shape`` (G, W, T), ``controls``, ``tf_control``
    (T,) int64 (-1: none), ``has_control``, ``lineage``, ``artifact_id``, ``attrs``, ``provenance``.
    Use as a context manager (or call :meth:`close`).
    """

    kind = "signal"

    def _validate(self):
        f, path = self.f, self.path
        require_datasets(f, path, self.kind, SIGNAL_SPEC)
        self.genes = read_strings(f["genes"])
        self.tfs = read_strings(f["tfs"])
        ws = f["window_start"][()]
        self.shape = (len(self.genes), len(ws), len(self.tfs))
        for name in ("signal", "max", "mask"):
            require_shape(path, self.kind, name, f[name].shape, self.shape)
        self.geometry = geometry_from_attrs(f.attrs, ws, path)
        self.has_control = "control_signal" in f
        G, W, T = self.shape
        if self.has_control:
            require_datasets(f, path, self.kind, {"controls": (1, "O"), "tf_control": (1, "i"),
                                                  "control_signal": (3, "f"), "control_mask": (3, "b")})
            self.controls = read_strings(f["controls"])
            self.tf_control = f["tf_control"][()].astype(np.int64)
            C = len(self.controls)
            require_shape(path, self.kind, "control_signal", f["control_signal"].shape, (G, W, C))
            require_shape(path, self.kind, "control_mask", f["control_mask"].shape, (G, W, C))
            if len(self.tf_control) != T or self.tf_control.max(initial=-1) >= C:
                raise TfvocabError("'tf_control' does not match the TFs and controls", path=path)
        else:
            self.controls, self.tf_control = [], np.full(T, -1, np.int64)
        self.lineage = json_attr(f.attrs, ATTR_LINEAGE, {})
        self.artifact_id = str(_plain(f.attrs.get(ATTR_ID, "")))
        self.attrs = {k: _plain(v) for k, v in f.attrs.items()}
        self.provenance = json_attr(f.attrs, PROVENANCE_ATTR, {})

    def chunks(self, use_control: bool = True, block: int = BLOCK
               ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]]:
        """Yield ``(signal, mask, control, control_mask)`` per block of genes: (g, W, T) float32,
        bool (NaN entries masked), controls (g, W, C) or None. An unmasked value that is
        infinite or < 0 raises :class:`TfvocabError` (:func:`check_coverage`)."""
        G = self.shape[0]
        for g0 in range(0, G, block):
            g1 = min(G, g0 + block)
            with reading(self.path, self.kind):
                sig = self.f["signal"][g0:g1]
                msk = self.f["mask"][g0:g1].astype(bool) | np.isnan(sig)
                ctl = cmsk = None
                if use_control and self.has_control:
                    ctl = self.f["control_signal"][g0:g1]
                    cmsk = self.f["control_mask"][g0:g1].astype(bool) | np.isnan(ctl)
            check_coverage(sig, msk, self.path, "signal", self.tfs, g0)
            if ctl is not None:
                check_coverage(ctl, cmsk, self.path, "control_signal", self.controls, g0)
            yield sig, msk, ctl, cmsk



def check_coverage(values: np.ndarray, mask: np.ndarray, path: str, dataset: str,
                   names: Sequence[str], g0: int = 0) -> None:
    """Refuse unmasked values that are not coverage (infinite or < 0) with a one-line error.

    ``values`` float32 (g, W, k), ``mask`` bool (g, W, k) (True: missing, NaN allowed there);
    ``names`` (k,) the TFs / controls of the last axis; ``g0`` the block's first gene row.
    """
    bad = ~((values >= 0) & (values < np.inf)) & ~mask
    if not bad.any():
        return
    per = bad.sum(axis=(0, 1))
    j = int(np.flatnonzero(per)[0])
    g, w = (int(i) for i in np.argwhere(bad[..., j])[0])
    raise TfvocabError(f"{int(per[j]):,} unmasked windows of '{names[j]}' in genes {g0 + 1}.."
                       f"{g0 + len(values)} are infinite or below 0 (e.g. {values[g, w, j]:g} at gene "
                       f"{g0 + g + 1}, window {w + 1}): not coverage", path=path, record=dataset,
                       hint="normalize expects coverage >= 0; re-extract the track with this version "
                            "of tfvocab extract, which refuses log-ratio / ratio tracks and reads "
                            "NaN / +inf records as bases without data (docs/inputs.md, Track kinds)")


def read_sources(attrs: Mapping) -> dict:
    raw = attrs.get("sources")
    return json.loads(raw) if raw else {}
