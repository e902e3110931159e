"""Output plumbing shared by every step: atomic writes and provenance.

Every output is written to a temporary name in the destination folder and renamed into place
only when complete, so an interrupted or failed step never leaves a partial file behind.
Every output records the tfvocab version and the parameters that made it: HDF5 files carry a
JSON string attribute ``tfvocab_provenance``; TSV/other files get a ``<name>.json`` sidecar
(or embed it, for JSON outputs).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from . import __version__

PROVENANCE_ATTR = "tfvocab_provenance"
TMP_SUFFIX = ".tfvocab.tmp"   # temporary files; removed by the next run if a run is killed
_UMASK = os.umask(0)
os.umask(_UMASK)


def provenance(step: str, params: Mapping[str, Any] | None = None) -> dict:
    """The provenance record of one step: ``{"tool", "version", "step", "params"}``.

    No timestamps or host names: same inputs and parameters give byte-identical provenance.
    """
    return {"tool": "tfvocab", "version": __version__, "step": step,
            "params": _jsonable(dict(params or {}))}


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds.

    The parent directory is created. On any exception the temporary file is removed and the
    exception propagates, so no partial output is ever visible under the final name.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=TMP_SUFFIX, dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs get the usual umask mode
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Atomically write ``obj`` as indented, key-sorted JSON."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_jsonable(obj), indent=2, sort_keys=True) + "\n")
    return Path(path)


def read_json(path: str | os.PathLike, what: str = "file") -> Any:
    """The JSON content of ``path``; a missing file or invalid JSON is a one-line
    :class:`tfvocab.errors.TfvocabError` naming the file (``what``: how the message names it)."""
    from .errors import TfvocabError

    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise TfvocabError(f"{what} not found", path=str(path)) from None
    except json.JSONDecodeError as exc:
        raise TfvocabError(f"not valid JSON ({exc})", path=str(path)) from None


def write_sidecar(path: str | os.PathLike, prov: Mapping[str, Any]) -> Path:
    """Write the provenance sidecar ``<path>.json`` of a non-HDF5 output."""
    return write_json(f"{path}.json", prov)


def write_table(path: str | os.PathLike, df, prov: Mapping[str, Any] | None = None,
                **to_csv_kwargs) -> Path:
    """Atomically write a pandas DataFrame as TSV (plus a provenance sidecar if given)."""
    kwargs = {"sep": "\t", "index": False}
    kwargs.update(to_csv_kwargs)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, **kwargs)
    if prov is not None:
        write_sidecar(path, prov)
    return Path(path)


def set_h5_provenance(h5obj, prov: Mapping[str, Any]) -> None:
    """Store ``prov`` as a JSON string attribute on an open h5py File/Group."""
    h5obj.attrs[PROVENANCE_ATTR] = json.dumps(_jsonable(prov), sort_keys=True)


def get_h5_provenance(h5obj) -> dict:
    """Read the provenance record of an open h5py File/Group ({} when absent)."""
    raw = h5obj.attrs.get(PROVENANCE_ATTR)
    if raw is None:
        return {}
    if isinstance(raw, bytes):
        raw = raw.decode()
    return json.loads(raw)


def write_strings(h5obj, name: str, values: Sequence[str], **kwargs):
    """Write a 1-D array of UTF-8 strings (gene IDs, TF names) to an h5py File/Group."""
    import h5py

    dt = h5py.string_dtype(encoding="utf-8")
    return h5obj.create_dataset(name, data=np.asarray(list(values), dtype=object), dtype=dt, **kwargs)


def read_strings(dataset) -> list[str]:
    """Read a 1-D string dataset written by :func:`write_strings` as a list of ``str``."""
    return [v.decode() if isinstance(v, bytes) else str(v) for v in dataset[()]]


def sha256_array(*arrays: np.ndarray) -> str:
    """Hex SHA-256 of the bytes (and shapes/dtypes) of ``arrays``: stable content hashes."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()
