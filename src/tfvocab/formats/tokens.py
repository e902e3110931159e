"""``tokens.h5`` (kind ``tokens``): one vocabulary token per promoter window, and the vocabulary.

Layout (docs/formats.md): ``genes`` (G,), ``tfs`` (T,), ``window_start`` (W,), ``tokens`` int32
(G, W), ``codebook`` float32 (K, T) and the vocabulary's per-TF arrays (``center``, ``scale``,
``bound``, ...; (T,) each); attrs ``mask_token``, ``null_token``, ``n_tokens`` (K), ``vocab_hash``
(SHA-256 of the codebook), ``null_threshold``, ``top_score``, geometry, lineage
``{"promoters", "normalized", "stats"}`` and ``artifact_id``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..errors import TfvocabError
from ..io import PROVENANCE_ATTR, atomic_path, read_strings, sha256_array, write_strings
from .core import (ATTR_ID, ATTR_LINEAGE, Geometry, digest, geometry_from_attrs, json_attr,
                   open_h5, require_datasets, require_shape, set_identity)

SPEC = {"genes": (1, "O"), "tfs": (1, "O"), "window_start": (1, "i"), "tokens": (2, "i"),
        "codebook": (2, "f")}
VOCAB_ARRAYS = ("center", "scale", "bound")


def _plain(v):
    if isinstance(v, np.generic):
        return v.item()
    return v.decode() if isinstance(v, bytes) else v


def write_tokens(path: str | Path, *, genes: Sequence[str], tfs: Sequence[str], geometry: Geometry,
                 tokens: np.ndarray, codebook: np.ndarray, arrays: Mapping[str, np.ndarray],
                 attrs: Mapping, lineage: Mapping, prov: Mapping | None = None) -> Path:
    """Atomically write ``tokens.h5``. ``arrays``: the vocabulary's per-TF arrays; ``attrs``:
    mask_token, null_token, null_threshold, top_score (n_tokens and vocab_hash are derived)."""
    import h5py

    G, W = tokens.shape
    vocab_hash = sha256_array(codebook)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as o:
        write_strings(o, "genes", genes)
        write_strings(o, "tfs", tfs)
        o.create_dataset("window_start", data=geometry.window_start)
        o.create_dataset("tokens", data=tokens.astype(np.int32),
                         chunks=(max(1, min(G, 256)), W) if G and W else None)
        o.create_dataset("codebook", data=np.asarray(codebook, np.float32))
        for name, arr in arrays.items():
            o.create_dataset(name, data=np.asarray(arr, np.float32))
        for k, v in attrs.items():
            o.attrs[k] = v
        o.attrs["n_tokens"] = int(codebook.shape[0])
        o.attrs["vocab_hash"] = vocab_hash
        lin = {**dict(lineage), "vocab": vocab_hash}
        set_identity(o, "tokens", geometry, lin, digest("tokens", lin), prov)
    return Path(path)


def read_tokens(path: str | Path) -> dict:
    """Read and validate ``tokens.h5``.

    Returns ``genes``, ``tfs`` (lists), ``window_start`` (W,), ``geometry``, ``tokens`` int64
    (G, W), ``codebook`` float32 (K, T), ``arrays`` (the vocabulary's per-TF arrays),
    ``n_tokens``, ``mask_token``, ``null_token``, ``null_threshold``, ``top_score``,
    ``vocab_hash``, ``attrs`` (every plain attribute), ``lineage``, ``artifact_id``,
    ``provenance``. Token ids outside 0..K-1 are
    an error.
    """
    with open_h5(path, "tokens") as h5:
        require_datasets(h5, path, "tokens", SPEC)
        genes = read_strings(h5["genes"])
        tfs = read_strings(h5["tfs"])
        ws = h5["window_start"][()].astype(np.int64)
        require_shape(path, "tokens", "tokens", h5["tokens"].shape, (len(genes), len(ws)))
        cb = h5["codebook"][()].astype(np.float32)
        if cb.shape[1:] != (len(tfs),):
            require_shape(path, "tokens", "codebook", cb.shape, (cb.shape[0], len(tfs)))
        arrays = {}
        for name in h5:
            if name not in SPEC and h5[name].ndim == 1 and h5[name].shape[0] == len(tfs) \
                    and h5[name].dtype.kind == "f":
                arrays[name] = h5[name][()]
        for name in VOCAB_ARRAYS:
            if name not in arrays:
                raise TfvocabError(f"missing dataset '{name}': not a complete tokens.h5", path=str(path),
                                   hint="rerun `tfvocab tokenize`")
        out = {
            "genes": genes, "tfs": tfs, "window_start": ws,
            "geometry": geometry_from_attrs(h5.attrs, ws, path),
            "tokens": h5["tokens"][()].astype(np.int64), "codebook": cb, "arrays": arrays,
            "lineage": json_attr(h5.attrs, ATTR_LINEAGE, {}),
            "artifact_id": str(_plain(h5.attrs.get(ATTR_ID, ""))),
            "provenance": json_attr(h5.attrs, PROVENANCE_ATTR, {}),
        }
        for k in ("mask_token", "null_token", "n_tokens"):
            out[k] = int(_plain(h5.attrs.get(k, -1)))
        out["null_threshold"] = float(_plain(h5.attrs.get("null_threshold", np.nan)))
        out["top_score"] = float(_plain(h5.attrs.get("top_score", np.nan)))
        out["vocab_hash"] = str(_plain(h5.attrs.get("vocab_hash", sha256_array(cb))))
        out["attrs"] = {k: _plain(v) for k, v in h5.attrs.items()
                        if k not in (ATTR_ID, ATTR_LINEAGE, PROVENANCE_ATTR)}
    K = out["n_tokens"]
    if K != cb.shape[0]:
        raise TfvocabError(f"n_tokens {K} differs from the codebook's {cb.shape[0]} rows", path=str(path),
                           hint="rerun `tfvocab tokenize`")
    if sha256_array(cb) != out["vocab_hash"]:
        raise TfvocabError("the codebook does not match its vocab_hash (the file was modified)",
                           path=str(path), hint="rerun `tfvocab tokenize`")
    tok = out["tokens"]
    if tok.size and (tok.min() < 0 or tok.max() >= K):
        raise TfvocabError(f"token ids outside 0..{K - 1} (found {tok.min()}..{tok.max()})",
                           path=str(path), hint="rerun `tfvocab tokenize`")
    return out
