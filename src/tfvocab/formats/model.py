"""``model.pt`` and ``checkpoint.pt``: torch files of plain containers, loaded with
``weights_only=True`` (no code runs when a model file is read).

``model.pt`` (``format = "tfvocab-model"``): ``state_dict``, ``config`` (every hyperparameter),
``input``, ``tfs``, ``geometry``, ``window_start``, ``vocab_hash``, ``lineage`` (promoters digest,
normalized stats digest, tokens id, pairs), ``fold``, ``n_folds``, ``best_epoch``, ``val_auprc``,
``version``.

``checkpoint.pt`` (``format = "tfvocab-checkpoint"``): ``model``, ``optimizer``, ``scheduler``
state dicts, RNG states, the training ``state`` (epoch, best weights and metric, early-stop
counter, log), ``params`` and ``lineage``, ``version``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import TfvocabError
from ..io import atomic_path
from .core import check_file, rerun_hint

MODEL_FORMAT = "tfvocab-model"
CHECKPOINT_FORMAT = "tfvocab-checkpoint"
MODEL_KEYS = ("state_dict", "config", "input", "tfs", "geometry", "window_start", "lineage")
CHECKPOINT_KEYS = ("model", "optimizer", "scheduler", "state", "params", "lineage")


def plain(obj: Any) -> Any:
    """Containers of numpy scalars/arrays -> Python types (tensors are kept), for weights_only."""
    import torch

    if isinstance(obj, torch.Tensor):
        return obj
    if isinstance(obj, Mapping):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _save(path, obj: Mapping) -> Path:
    import torch

    with atomic_path(path) as tmp:
        torch.save(plain(dict(obj)), tmp)
    return Path(path)


def _load(path, kind: str, fmt: str, keys) -> dict:
    import torch

    # a checkpoint is rewritten in place every epoch: it is never listed in a manifest
    path = check_file(path, kind, manifest=(kind != "checkpoint"))
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - zip/pickle/EOF errors of damaged or foreign files
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise TfvocabError(f"cannot read this {kind}.pt ({first}): damaged, truncated or not a "
                           f"tfvocab file", path=str(path), hint=rerun_hint(kind)) from None
    if not isinstance(obj, dict) or obj.get("format") != fmt:
        got = obj.get("format") if isinstance(obj, dict) else type(obj).__name__
        raise TfvocabError(f"not a {kind}.pt written by tfvocab (format {got!r})", path=str(path),
                           hint=f"pass the {kind}.pt of `tfvocab train`")
    missing = [k for k in keys if k not in obj]
    if missing:
        raise TfvocabError(f"incomplete {kind}.pt (no {', '.join(missing)})", path=str(path),
                           hint=rerun_hint(kind))
    return obj


def write_model(path, obj: Mapping) -> Path:
    """Atomically write ``model.pt`` (keys: module docstring)."""
    return _save(path, {"format": MODEL_FORMAT, **obj})


def read_model(path) -> dict:
    """Read and validate ``model.pt`` (no network is built: :func:`tfvocab.model.inference.load_model`)."""
    return _load(path, "model", MODEL_FORMAT, MODEL_KEYS)


def write_checkpoint(path, obj: Mapping) -> Path:
    """Atomically write ``checkpoint.pt`` (keys: module docstring)."""
    return _save(path, {"format": CHECKPOINT_FORMAT, **obj})


def read_checkpoint(path) -> dict:
    """Read and validate ``checkpoint.pt``."""
    return _load(path, "checkpoint", CHECKPOINT_FORMAT, CHECKPOINT_KEYS)
