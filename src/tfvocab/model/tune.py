"""Seeded random search over the main hyperparameters on validation AUPRC (``tfvocab tune``).

Search space (blueprint Table 2, shrunk for CPU): d_model, n_layers, n_heads (dividing d_model),
dropout, lr, weight_decay, input mode. Each trial trains with early stopping and is scored by
its best validation AUPRC. Writes ``tune.tsv`` (one row per trial) and ``best_config.json``,
which ``tfvocab train --config best_config.json`` accepts.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..data.genedata import load_gene_data, read_pairs
from ..errors import TfvocabError
from ..io import provenance, write_json, write_table
from ..publish import step_outputs
from ..log import get_logger, timed
from .training import resolve_params, train_model

log = get_logger("tune")

SPACE = {
    "d_model": [32, 64, 128],
    "n_layers": [1, 2, 4],
    "n_heads": [2, 4, 8],
    "dropout": [0.0, 0.1, 0.2, 0.3],
    "lr": [1e-4, 3e-4, 5e-4, 1e-3, 2e-3],
    "weight_decay": [0.0, 1e-3, 1e-2],
    "input": ["tokens", "continuous", "both"],
}


def sample_configs(n_trials: int, seed: int = 0, inputs: list[str] | None = None,
                   space: dict | None = None) -> list[dict]:
    """``n_trials`` distinct random configurations (numpy Generator seeded by ``seed``)."""
    space = dict(space or SPACE)
    if inputs is not None:
        space["input"] = list(inputs)
    rng = np.random.default_rng(seed)
    out, seen = [], set()
    for _ in range(50 * n_trials):
        if len(out) == n_trials:
            break
        cfg = {k: v[int(rng.integers(len(v)))] for k, v in space.items()}
        cfg = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in cfg.items()}
        if cfg["d_model"] % cfg["n_heads"]:
            continue
        key = tuple(sorted(cfg.items()))
        if key not in seen:
            seen.add(key)
            out.append(cfg)
    return out


def run(tokens=None, normalized=None, pairs=None, outdir=".", *, n_trials: int = 8, seed: int = 0,
        epochs: int = 15, patience: int = 4, device: str = "auto", **fixed) -> dict[str, Path]:
    """``tfvocab tune``: train ``n_trials`` sampled configurations; write ``tune.tsv`` and ``best_config.json``."""
    if pairs is None:
        raise TfvocabError("--pairs is required")
    outdir = Path(outdir)
    inputs = [m for m in SPACE["input"] if (m == "continuous" or tokens is not None)
              and (m == "tokens" or normalized is not None)]
    if not inputs:
        raise TfvocabError("tune needs --tokens and/or --normalized")
    with timed("loading inputs", log):
        data_all = load_gene_data(tokens, normalized, inputs[0])
        df = read_pairs(pairs, data_all.index)
    rows: list[dict] = []
    params_all = {"tokens": str(tokens), "normalized": str(normalized), "pairs": str(pairs),
                  "n_trials": n_trials, "seed": seed, "epochs": epochs, "patience": patience}
    with step_outputs(outdir, "tune", params_all) as out:
        paths = _trials(out, data_all, df, n_trials, seed, inputs, epochs, patience, device, fixed,
                        rows, params_all)
    return {k: outdir / v.name for k, v in paths.items()}


def _trials(out, data_all, df, n_trials, seed, inputs, epochs, patience, device, fixed, rows,
            params_all) -> dict[str, Path]:
    best = None
    for i, cfg in enumerate(sample_configs(n_trials, seed, inputs)):
        overrides = {"epochs": epochs, "patience": patience, "seed": seed, "device": device,
                     **{k: v for k, v in fixed.items() if v is not None}, **cfg}
        params = resolve_params(None, **overrides)
        with timed(f"trial {i}: {cfg}", log):
            res = train_model(data_all.with_mode(cfg["input"]), df, params,
                              out.path(f"trials/trial_{i:03d}/checkpoint.pt").parent)
        row = {"trial": i, **cfg, "val_auprc": res["val_auprc"], "best_epoch": res["best_epoch"],
               "epochs_run": int(len(res["log"]))}
        rows.append(row)
        if best is None or res["val_auprc"] > best[0]:
            best = (res["val_auprc"], params, i)
    prov = provenance("tune", params_all)
    paths = {"tune": write_table(out.path("tune.tsv"), pd.DataFrame(rows), prov)}
    cfg = {k: v for k, v in best[1].items() if k not in ("device",)}
    cfg["epochs"] = max(int(cfg["epochs"]), 30)
    cfg["patience"] = max(int(cfg["patience"]), 8)
    paths["best_config"] = write_json(out.path("best_config.json"),
                                      {"config": cfg, "val_auprc": best[0], "trial": best[2], "provenance": prov})
    log.info("best trial %d: val AUPRC %.4f", best[2], best[0])
    return paths
