"""What every artifact shares: its kind, window geometry, lineage digests and error handling.

* **Kind**: every HDF5 artifact carries a root attribute ``tfvocab_kind`` (``signal_track``,
  ``signal``, ``normalized``, ``tokens``); model files carry ``format``. A reader given another
  kind of file says which kind it got.
* **Geometry** (:class:`Geometry`): upstream, downstream, window width and stride (bp) of the
  promoter windows; stored as the JSON attribute ``geometry`` beside the ``window_start``
  dataset of every windowed artifact, and checked against it on read.
* **Lineage**: the JSON attribute ``lineage`` maps what an artifact was made from to digests
  (``promoters``: content digest of promoters.tsv; ``signal``/``normalized``/``tokens``: the
  ``artifact_id`` of the parent; ``vocab``: the codebook hash). ``artifact_id`` is a digest of
  the artifact's own lineage and content summary, so the same inputs give the same id.
  :func:`check_lineage` refuses artifacts of different lineages with a message naming both files.
* **Errors**: :func:`reading` turns every low-level failure (zero-byte or truncated HDF5,
  missing datasets, torch zip errors) into one :class:`~tfvocab.errors.TfvocabError` line that
  names the file, what is wrong and which step to rerun.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from .. import coords
from ..errors import TfvocabError
from ..io import PROVENANCE_ATTR, _jsonable

ATTR_KIND = "tfvocab_kind"
ATTR_GEOMETRY = "geometry"
ATTR_LINEAGE = "lineage"
ATTR_ID = "artifact_id"

#: kind -> (file name, the step that writes it)
KINDS = {
    "signal_track": ("signal.<tf>.h5", "extract"),
    "signal": ("signal.h5", "merge"),
    "normalized": ("normalized.h5", "normalize"),
    "tokens": ("tokens.h5", "tokenize"),
    "model": ("model.pt", "train"),
    "checkpoint": ("checkpoint.pt", "train"),
    "promoters": ("promoters.tsv", "promoters"),
    "pairs": ("pairs.tsv", "pairs"),
    "genes": ("genes.tsv", "pairs"),
    "attention": ("attention.h5", "interpret"),
    "attributions": ("attributions.h5", "interpret"),
}


def label(kind: str) -> str:
    return KINDS[kind][0]


def rerun_hint(kind: str) -> str:
    name, step = KINDS[kind]
    return f"rerun `tfvocab {step}` to write a complete {name}"


# ----------------------------------------------------------------------------------------------
# digests


def digest(*parts: Any) -> str:
    """SHA-256 hex digest of ``parts`` (arrays by dtype, shape and bytes; the rest as JSON)."""
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, np.ndarray):
            a = np.ascontiguousarray(p)
            h.update(f"nd{a.dtype.str}{a.shape}".encode())
            h.update(a.tobytes())
        elif isinstance(p, bytes):
            h.update(b"b" + p)
        else:
            h.update(b"j" + json.dumps(_jsonable(p), sort_keys=True, default=str).encode())
        h.update(b"\x00")
    return h.hexdigest()


def strings_digest(values) -> str:
    """Digest of a list of strings (e.g. gene IDs), order included."""
    return hashlib.sha256("\n".join(map(str, values)).encode()).hexdigest()


def short(d: str | None) -> str:
    return (d or "none")[:12]


# ----------------------------------------------------------------------------------------------
# geometry


@dataclass(frozen=True)
class Geometry:
    """Promoter window geometry in bp: windows of ``window`` bp every ``stride`` bp over offsets
    ``-upstream .. +downstream`` around the start codon (:mod:`tfvocab.coords`)."""

    upstream: int = coords.UPSTREAM
    downstream: int = coords.DOWNSTREAM
    window: int = coords.WINDOW
    stride: int = coords.STRIDE

    @property
    def window_start(self) -> np.ndarray:
        """(W,) int64 window start offsets (bp relative to the start codon)."""
        return coords.window_offsets(self.upstream, self.downstream, self.window, self.stride)

    @property
    def n_windows(self) -> int:
        return int(self.window_start.size)

    def to_dict(self) -> dict:
        return {k: int(v) for k, v in asdict(self).items()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Geometry":
        return cls(**{k: int(d[k]) for k in ("upstream", "downstream", "window", "stride")})

    def describe(self) -> str:
        return (f"{self.n_windows} windows of {self.window} bp every {self.stride} bp, "
                f"-{self.upstream}..+{self.downstream} bp")


def geometry_from_attrs(attrs, window_start: np.ndarray, path) -> Geometry:
    """The :class:`Geometry` stored in ``attrs``, checked against the ``window_start`` dataset."""
    raw = attrs.get(ATTR_GEOMETRY)
    if raw is None:
        raise TfvocabError("no window geometry recorded (written by an older tfvocab?)",
                           path=str(path), hint="rerun the step that wrote it")
    geo = Geometry.from_dict(json.loads(_text(raw)))
    if not np.array_equal(np.asarray(window_start, np.int64), geo.window_start):
        raise TfvocabError(f"window_start does not match the recorded geometry ({geo.describe()})",
                           path=str(path), hint="the file is corrupt: rerun the step that wrote it")
    return geo


# ----------------------------------------------------------------------------------------------
# HDF5 attributes


def _text(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def json_attr(attrs, name: str, default=None):
    raw = attrs.get(name)
    if raw is None:
        return default
    return json.loads(_text(raw))


def set_identity(h5, kind: str, geometry: Geometry | None, lineage: Mapping[str, Any],
                 artifact_id: str, prov: Mapping[str, Any] | None) -> None:
    """Write kind, geometry, lineage, id and provenance attributes on an open h5py File."""
    h5.attrs[ATTR_KIND] = kind
    if geometry is not None:
        h5.attrs[ATTR_GEOMETRY] = geometry.to_json()
    h5.attrs[ATTR_LINEAGE] = json.dumps(_jsonable(dict(lineage)), sort_keys=True)
    h5.attrs[ATTR_ID] = artifact_id
    if prov is not None:
        h5.attrs[PROVENANCE_ATTR] = json.dumps(_jsonable(dict(prov)), sort_keys=True)


# ----------------------------------------------------------------------------------------------
# errors


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    msg = text[0] if text else type(exc).__name__
    return msg[:200]


@contextlib.contextmanager
def reading(path, kind: str) -> Iterator[None]:
    """Turn any failure while reading ``path`` (an artifact of ``kind``) into a TfvocabError."""
    try:
        yield
    except TfvocabError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - h5py/torch raise many types for damaged files
        raise TfvocabError(f"cannot read this {label(kind)} ({_first_line(exc)}); the file is "
                           f"damaged or truncated", path=str(path), hint=rerun_hint(kind)) from None


def check_file(path, kind: str, manifest: bool = True) -> Path:
    """Existence, non-zero size and (with ``manifest``) completeness of an input artifact
    (:func:`tfvocab.publish.check_input`)."""
    from ..publish import check_input

    path = Path(path)
    if not path.exists():
        raise TfvocabError(f"{label(kind)} not found", path=str(path),
                           hint=f"run `tfvocab {KINDS[kind][1]}` first, or check the path")
    if path.is_dir():
        raise TfvocabError(f"expected a {label(kind)} file, got a folder", path=str(path))
    if path.stat().st_size == 0:
        raise TfvocabError(f"empty file (0 bytes): not a complete {label(kind)}", path=str(path),
                           hint=rerun_hint(kind))
    if manifest:
        check_input(path)
    return path


@contextlib.contextmanager
def open_h5(path, kind: str) -> Iterator[Any]:
    """Open an HDF5 artifact read-only after checking the file and its ``tfvocab_kind``."""
    import h5py

    path = check_file(path, kind)
    if not h5py.is_hdf5(str(path)):
        raise TfvocabError(f"not an HDF5 file (truncated, or another kind of file): expected a "
                           f"{label(kind)}", path=str(path), hint=rerun_hint(kind))
    with reading(path, kind):
        f = h5py.File(str(path), "r")
    try:
        got = _text(f.attrs.get(ATTR_KIND, ""))
        if got != kind:
            what = f"a {label(got)}" if got in KINDS else "not a tfvocab artifact (no tfvocab_kind)"
            raise TfvocabError(f"this file is {what}, expected a {label(kind)}", path=str(path),
                               hint=f"pass the {label(kind)} written by `tfvocab {KINDS[kind][1]}`")
        with reading(path, kind):
            yield f
    finally:
        with contextlib.suppress(Exception):
            f.close()


def require_datasets(f, path, kind: str, spec: Mapping[str, tuple[int, str]]) -> None:
    """Check ``f`` holds every dataset of ``spec`` (name -> (ndim, dtype kind 'f'/'i'/'b'/'O'))."""
    for name, (ndim, dkind) in spec.items():
        if name not in f:
            raise TfvocabError(f"missing dataset '{name}': not a complete {label(kind)}",
                               path=str(path), hint=rerun_hint(kind))
        ds = f[name]
        if ds.ndim != ndim:
            raise TfvocabError(f"dataset '{name}' has {ds.ndim} dimensions, expected {ndim}",
                               path=str(path), hint=rerun_hint(kind))
        got = ds.dtype.kind
        ok = (got == dkind or (dkind == "i" and got in "iu") or (dkind == "O" and got in "OSU")
              or (dkind == "b" and got in "bu"))
        if not ok:
            raise TfvocabError(f"dataset '{name}' has dtype {ds.dtype}, expected "
                               f"{ {'f': 'float', 'i': 'integer', 'b': 'bool', 'O': 'string'}[dkind] }",
                               path=str(path), hint=rerun_hint(kind))


def require_shape(path, kind: str, name: str, shape, expected) -> None:
    if tuple(shape) != tuple(expected):
        raise TfvocabError(f"dataset '{name}' has shape {tuple(shape)}, expected {tuple(expected)}",
                           path=str(path), hint=rerun_hint(kind))


# ----------------------------------------------------------------------------------------------
# lineage


def check_lineage(key: str, items, what: str, hint: str) -> None:
    """Refuse artifacts whose lineage ``key`` differs.

    ``items``: ``(path, lineage dict)`` pairs; artifacts that do not record ``key`` are not
    compared. ``what`` says what differs (e.g. "promoters"), ``hint`` what to do.
    """
    ref = None
    for path, lin in items:
        val = (lin or {}).get(key)
        if val is None:
            continue
        if ref is None:
            ref = (path, val)
        elif val != ref[1]:
            raise TfvocabError(f"made from other {what} than {ref[0]} ({key} digest {short(val)} vs "
                               f"{short(ref[1])})", path=str(path), hint=hint)


class H5Reader:
    """Validated, open handle on an artifact of kind ``kind`` (subclasses define ``kind`` and
    ``_validate``): opened with :func:`open_h5`, validated under :func:`reading` (closed again if
    validation fails); a context manager, or call :meth:`close`."""

    kind = ""

    def __init__(self, path):
        self.path = str(path)
        self._cm = open_h5(path, self.kind)
        self.f = self._cm.__enter__()
        try:
            with reading(self.path, self.kind):
                self._validate()
        except BaseException:
            self.close()
            raise

    def _validate(self) -> None:
        raise NotImplementedError

    def close(self):
        if getattr(self, "_cm", None) is not None:
            self._cm.__exit__(None, None, None)
            self._cm = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass
