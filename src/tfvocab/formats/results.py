"""HDF5 results of ``tfvocab interpret``: ``attention.h5`` and ``attributions.h5``.

Generic writer: named string lists, arrays and attributes, plus the window geometry, lineage and
provenance every windowed file carries (kind ``attention`` / ``attributions``). Layouts are in
docs/output.md; these files are read by people and the report, not by other steps.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..io import atomic_path, write_strings
from .core import Geometry, digest, set_identity

GZIP_MIN = 1 << 16          # arrays with more elements than this are gzip-compressed


def write_results(path: str | Path, kind: str, *, geometry: Geometry, strings: Mapping[str, Sequence[str]],
                  arrays: Mapping[str, np.ndarray], attrs: Mapping, lineage: Mapping,
                  prov: Mapping | None = None) -> Path:
    """Atomically write an interpretation result file of ``kind`` (attention / attributions)."""
    import h5py

    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for name, values in strings.items():
            write_strings(f, name, list(values))
        f.create_dataset("window_start", data=geometry.window_start)
        for name, arr in arrays.items():
            arr = np.asarray(arr)
            f.create_dataset(name, data=arr, **({"compression": "gzip"} if arr.size > GZIP_MIN else {}))
        for k, v in attrs.items():
            f.attrs[k] = v
        set_identity(f, kind, geometry, lineage, digest(kind, dict(lineage), sorted(arrays)), prov)
    return Path(path)
