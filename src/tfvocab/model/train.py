"""``tfvocab train``: train the Siamese transformer of one fold (``--fold k``) and publish
``model.pt`` and ``train_log.tsv`` together (:func:`tfvocab.publish.step_outputs`).

Read the inputs (:func:`tfvocab.data.genedata.load_gene_data`, ``pairs.tsv``, ``genes.tsv``) -> the
training loop of :mod:`tfvocab.model.training` (negatives, loss, early stopping on the validation
genes' universe, checkpoints, ``--resume``, DDP under ``torchrun``) -> write.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import torch

from ..data.genedata import load_gene_data, read_pairs
from ..errors import TfvocabError
from ..data.folds import fold_split, genes_path, read_genes_table
from ..io import provenance, write_table
from ..log import get_logger, timed
from ..publish import step_outputs
from .training import (CHECKPOINT, TRAIN_DEFAULTS, TrainingInterrupted, build_model, dist_info,
                       resolve_params, save_model, train_model)

log = get_logger("train")

__all__ = ["run", "CHECKPOINT", "TRAIN_DEFAULTS", "TrainingInterrupted", "build_model",
           "resolve_params", "save_model", "train_model"]


def run(tokens=None, normalized=None, pairs=None, outdir=".", *, genes=None, config=None, resume: bool = False,
        checkpoint_dir=None, stop_after_steps: int | None = None, **options) -> dict[str, Path]:
    """``tfvocab train``: load inputs, train fold ``fold``'s model, publish ``model.pt`` and
    ``train_log.tsv``.

    ``genes``: ``genes.tsv`` of ``tfvocab pairs`` (default: next to ``pairs``; a single-split
    ``pairs.tsv`` needs none).
    ``checkpoint.pt`` is written to ``checkpoint_dir`` (default ``outdir``) after every epoch;
    ``resume`` continues from it (refused when the options or inputs differ, naming them).
    ``options``: any of :data:`TRAIN_DEFAULTS` / model hyperparameters (None = from ``config`` or
    the default). ``config``: JSON file (e.g. ``best_config.json`` from ``tfvocab tune``).
    """
    if pairs is None:
        raise TfvocabError("--pairs is required")
    outdir = Path(outdir)
    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir is not None else outdir
    params = resolve_params(config, **options)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    with timed("loading inputs", log):
        data = load_gene_data(tokens, normalized, params["input"])
        df = read_pairs(pairs, data.index)
        gpath = genes_path(pairs, genes)
        table = read_genes_table(gpath) if gpath is not None else None
        split = fold_split(df, data.index, table, int(params["fold"]), path=pairs)
    params["n_folds"] = split.n_folds
    _, rank, _ = dist_info()
    run_params = {"tokens": str(tokens), "normalized": str(normalized), "pairs": str(pairs),
                  "genes": None if gpath is None else str(gpath), **params}
    publishing = step_outputs(outdir, "train", run_params) if rank == 0 else contextlib.nullcontext()
    with publishing as out:
        res = train_model(data, df, params, ckpt_dir, resume=resume, stop_after_steps=stop_after_steps,
                          split=split)
        if out is not None:
            save_model(out.path("model.pt"), res["model"], res["params"], data, res["best_epoch"],
                       res["val_auprc"], lineage=res["lineage"], fold=res["fold"], n_folds=res["n_folds"])
            write_table(out.path("train_log.tsv"), res["log"], provenance("train", run_params))
    if rank != 0:
        return {}
    return {"model": outdir / "model.pt", "train_log": outdir / "train_log.tsv",
            "checkpoint": ckpt_dir / CHECKPOINT}
