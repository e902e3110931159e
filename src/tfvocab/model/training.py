"""The training loop of the Siamese transformer of one fold (``tfvocab train``, ``tfvocab tune``).

Fold k's model trains on the genes outside fold k and outside its validation genes
(``genes.tsv`` of ``tfvocab pairs``). Batches (:mod:`tfvocab.model.batches`, ``--batching``):

* ``genes`` (default): a step embeds ``batch_genes`` training genes once - the genes of some
  positives, each with its partner, plus random other training genes - and scores every pair
  among them (B (B-1)/2 pairs, listed positives against everything else: the evaluation's own
  distribution, at ~B/2 pairs per gene embedding);
* ``pairs``: the positives plus ``neg_ratio`` sampled negatives per positive (``--negatives``,
  :class:`tfvocab.data.negatives.NegativeSampler`), ``batch_size`` pairs per step, each distinct gene
  of a step embedded once.

Loss (:func:`tfvocab.model.batches.batch_loss`): class-balanced BCE (positives and negatives of a
batch weigh half each) or the non-negative PU risk (nnPU, Kiryo et al. 2017; label 0 =
unlabelled, class prior ``prior``, default the training universe's listed prevalence). AdamW;
linear warm-up + cosine decay per step (or ReduceLROnPlateau on validation AUPRC); early
stopping and model selection on the AUPRC of every pair among the validation genes (their
universe, :mod:`tfvocab.data.universe`, at most ``max_val_genes`` of them), not on sampled pairs.

Every epoch writes ``checkpoint.pt`` atomically (model, optimizer, scheduler, RNG state, epoch,
best metric and weights, early-stop counter, log) and ``train_log.tsv``; ``resume=True`` continues
from the checkpoint and ends exactly where an uninterrupted run would (epoch ``e``'s batches are
drawn from generators seeded by ``(seed, e)``; dropout uses the restored torch RNG).
``model.pt`` holds the best weights + config + vocab_hash + tfs + input mode.

With ``torchrun`` (``WORLD_SIZE`` > 1) training runs under DistributedDataParallel: each rank
takes an equal, disjoint share of every epoch's batches; only rank 0 writes files.
"""
from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from .. import __version__, formats, publish
from ..data import universe as U
from .batches import BATCHING, GeneBatches, PairBatches, batch_loss
from ..data.genedata import GeneData
from ..defaults import default
from ..errors import TfvocabError
from ..data.folds import FoldSplit, fold_split, shuffle_positives
from .inference import autocast, embed_genes, resolve_device
from ..io import read_json
from .metrics import ranking_metrics
from ..data.negatives import SCHEMES, NegativeSampler
from .scoring import FusedHeadScorer, score_block
from ..log import get_logger, progress, timed
from .model import ModelConfig, SiameseTransformer

log = get_logger("train")

# Defaults chosen on the `small` and `grammar` presets (bench/train.py, bench/grammar.py,
# bench/evaluation.py; docs/evaluation.md "Training batches"): gene batches, strong
# regularisation (the tower sees ~1,000 training genes) and early stopping.
TRAIN_DEFAULTS = {
    "input": default("model_input"),
    "epochs": default("epochs"),
    "batching": default("batching"),     # genes | pairs (tfvocab.model.batches)
    "batch_genes": default("batch_genes"),   # genes: genes per step (every pair among them scored)
    "partner_fraction": 0.5,     # genes: share of a batch filled by positives' genes (with partners)
    "batch_size": 4096,          # pairs: pairs per step
    "max_steps_per_epoch": 0,    # > 0: an epoch ends after this many steps (a prefix of its shuffled pairs)
    "lr": 2e-3,
    "weight_decay": 5e-2,
    "warmup_epochs": 1.0,
    "scheduler": "cosine",       # cosine | plateau
    "patience": 6,
    "loss": "bce",               # bce | nnpu
    "prior": None,
    "negatives": default("negatives"),   # pairs: universe | uniform | degree | mixed | listed (tfvocab.data.negatives)
    "neg_ratio": default("neg_ratio"),   # pairs: negatives per positive, per epoch
    "fold": 0,                           # which fold of genes.tsv this model holds out
    "n_folds": None,                     # recorded from genes.tsv
    "max_val_genes": 1500,               # validation universe: at most this many genes (seeded subsample)
    "shuffle_labels": False,             # control: positives' gene identities permuted among the
                                         # training genes and among the validation genes
    "seed": default("seed"),
    "device": "auto",
}
MODEL_KEYS = tuple(k for k in ModelConfig.__dataclass_fields__ if k not in ("input", "n_tokens", "n_tfs", "n_windows"))
CHECKPOINT = "checkpoint.pt"
#: genes per tower call in a training step (several calls per step when a batch has more genes)
ENCODE_CHUNK = 512
LOG_COLUMNS = ["epoch", "train_loss", "val_loss", "val_auprc", "val_auroc", "lr", "seconds"]


class TrainingInterrupted(RuntimeError):
    """Raised by the ``stop_after_steps`` test hook (simulates a killed job)."""


# --------------------------------------------------------------------------- params
def resolve_params(config: str | os.PathLike | dict | None = None, **overrides) -> dict:
    """Defaults < ``config`` (JSON file or dict, e.g. tune's ``best_config.json``) < non-None overrides."""
    params = dict(TRAIN_DEFAULTS)
    params.update({k: v for k, v in ModelConfig().to_dict().items() if k in MODEL_KEYS})
    if config is not None:
        if not isinstance(config, dict):
            config = read_json(config, "config file")
            config = config.get("config", config)
        unknown = sorted(set(config) - set(params))
        if unknown:
            log.warning("ignoring unknown config keys: %s", ", ".join(unknown))
        params.update({k: v for k, v in config.items() if k in params})
    params.update({k: v for k, v in overrides.items() if v is not None and k in params})
    if params["loss"] not in ("bce", "nnpu"):
        raise TfvocabError(f"unknown loss '{params['loss']}'", hint="use bce or nnpu")
    if params["loss"] == "nnpu" and params["prior"] is not None and not 0 < params["prior"] < 1:
        raise TfvocabError("--prior must be in (0, 1)",
                           hint="the fraction of true co-expressed pairs among unlabelled pairs, e.g. 0.002")
    if params["negatives"] not in SCHEMES:
        raise TfvocabError(f"unknown negatives '{params['negatives']}'", hint=f"use one of {', '.join(SCHEMES)}")
    if float(params["neg_ratio"]) <= 0:
        raise TfvocabError(f"--neg-ratio must be > 0, got {params['neg_ratio']}")
    if params["batching"] not in BATCHING:
        raise TfvocabError(f"unknown batching '{params['batching']}'", hint=f"use one of {', '.join(BATCHING)}")
    if int(params["batch_genes"]) < 2:
        raise TfvocabError(f"--batch-genes must be >= 2, got {params['batch_genes']}")
    if not 0 < float(params["partner_fraction"]) <= 1:
        raise TfvocabError(f"partner_fraction must be in (0, 1], got {params['partner_fraction']}")
    if params["scheduler"] not in ("cosine", "plateau"):
        raise TfvocabError(f"unknown scheduler '{params['scheduler']}'", hint="use cosine or plateau")
    return params


def build_model(params: dict, data: GeneData) -> SiameseTransformer:
    cfg = ModelConfig(input=params["input"], n_tokens=int(data.n_tokens), n_tfs=len(data.tfs),
                      n_windows=int(data.mask.shape[1]), **{k: params[k] for k in MODEL_KEYS})
    try:
        return SiameseTransformer(cfg)
    except ValueError as exc:
        raise TfvocabError(f"bad model configuration: {exc}") from None


# --------------------------------------------------------------------------- model files
def save_model(path, model: SiameseTransformer, params: dict, data: GeneData, best_epoch: int,
               val_auprc: float, lineage: dict | None = None, state_dict=None, fold: int = 0,
               n_folds: int | None = None) -> Path:
    """Write ``model.pt`` (:func:`tfvocab.formats.write_model`): weights, configuration, inputs'
    geometry, TFs, vocabulary hash and lineage."""
    return formats.write_model(path, {
        "state_dict": state_dict if state_dict is not None else model.state_dict(),
        "config": {**params, **model.config.to_dict()},
        "vocab_hash": data.vocab_hash,
        "tfs": list(data.tfs),
        "input": model.config.input,
        "version": __version__,
        "best_epoch": int(best_epoch),
        "val_auprc": float(val_auprc),
        "window_start": np.asarray(data.window_start).tolist(),
        "geometry": data.geometry.to_dict(),
        "lineage": dict(lineage if lineage is not None else data.lineage),
        "fold": int(fold),
        "n_folds": None if n_folds is None else int(n_folds),
    })


RESUMABLE = ("device",)   # options that may change between a run and its --resume


def check_resume(ck: dict, params: dict, lineage: dict, path) -> None:
    """Refuse to resume from a checkpoint of other inputs or other options (named)."""
    a, b = ck["lineage"].get("vocab"), lineage.get("vocab")
    if a and b and a != b and ck["params"].get("input") in ("tokens", "both"):
        raise TfvocabError(f"vocabulary mismatch: cannot resume, {path} was trained with vocab_hash "
                           f"{a} but the tokens given have vocab_hash {b}",
                           hint="resume with the tokens.h5 of the interrupted run")
    for key in ("promoters", "normalized", "tokens", "pairs"):
        a, b = ck["lineage"].get(key), lineage.get(key)
        if a and b and a != b:
            raise TfvocabError(f"cannot resume: the checkpoint was trained on another {key} input "
                               f"({formats.short(a)} vs {formats.short(b)})", path=str(path),
                               hint="resume with the inputs of the interrupted run")
    diff = sorted(k for k in set(params) | set(ck["params"])
                  if k not in RESUMABLE and ck["params"].get(k) != params.get(k))
    if diff:
        shown = ", ".join(f"--{k.replace('_', '-')} {ck['params'].get(k)} (now {params.get(k)})"
                          for k in diff[:6])
        raise TfvocabError(f"cannot resume: the checkpoint was trained with other options: {shown}",
                           path=str(path), hint="rerun with the checkpoint's options, or without "
                           "--resume (and another --outdir / --checkpoint-dir) to start afresh")


# --------------------------------------------------------------------------- training
def _lr_factor(step: int, warmup: int, total: int) -> float:
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    if total <= warmup:
        return 1.0
    t = min(1.0, (step - warmup) / (total - warmup))
    return 0.02 + 0.98 * 0.5 * (1.0 + math.cos(math.pi * t))


def dist_info():
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 1, 0, 0
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    return world, dist.get_rank(), int(os.environ.get("LOCAL_RANK", "0"))


def _universe_logits(model, data: GeneData, genes: np.ndarray, device) -> np.ndarray:
    """Logits (N,) of every pair among ``genes`` (global indices), universe order
    (:mod:`tfvocab.data.universe`): each gene embedded once, blocks through the fused head."""
    emb = embed_genes(model, data, torch.as_tensor(genes), device)
    try:
        block = FusedHeadScorer(model, emb, logits=True)
    except ValueError:                       # a head the fused scorer does not know: the generic one
        def block(ri, rj):
            return score_block(lambda a, b: model.score(a, b).float(), emb[ri.to(emb.device)], emb[rj.to(emb.device)])
    was = model.training
    model.eval()
    out = U.score_universe(lambda ri, rj: block(ri.to(emb.device), rj.to(emb.device)), len(genes))
    model.train(was)
    return out


class Validation:
    """The validation universe of a fold: every pair among (at most ``max_genes``, a seeded
    subsample of) the validation genes, labelled by the positives among them."""

    def __init__(self, split: FoldSplit, max_genes: int, seed: int):
        genes = split.genes("val")
        if len(genes) < 2:
            log.warning("fewer than 2 validation genes: early stopping and model selection use "
                        "the training genes")
            genes = split.genes("train")
        if max_genes and len(genes) > max_genes:
            rng = np.random.default_rng([int(seed), 31])
            genes = np.sort(rng.choice(genes, size=int(max_genes), replace=False))
        self.genes = genes
        pa, pb = split.positives_among(genes)
        self.labels = U.pair_labels(len(genes), pa, pb)

    def metrics(self, logits: np.ndarray, params: dict) -> dict:
        """Loss (the training loss on every validation pair) and ranking metrics of ``logits`` (N,)."""
        y = torch.from_numpy(self.labels.astype(np.float32))
        _, risk = batch_loss(torch.from_numpy(logits).double(), y.double(), params["loss"], params["prior"])
        return {"loss": float(risk), **ranking_metrics(self.labels, logits)}


def _embed(model, data: GeneData, genes: torch.Tensor, world: int):
    """Inputs of training genes ``genes`` (U,) (global indices): ``tokens, values, mask`` and,
    on one process with more than ``ENCODE_CHUNK`` genes, their embeddings (U, D) with gradient,
    the tower run on chunks of genes (faster on CPU than one big batch); else None (the caller
    runs the network, DDP-wrapped when distributed, on the whole batch)."""
    tok, val, m = data.gather(genes.to(data.mask.device))
    if world > 1 or len(genes) <= ENCODE_CHUNK:
        return tok, val, m, None
    sl = (lambda t, c: None if t is None else t[c:c + ENCODE_CHUNK])   # noqa: E731
    return tok, val, m, torch.cat([model.encode(sl(tok, c), sl(val, c), m[c:c + ENCODE_CHUNK])
                                   for c in range(0, len(genes), ENCODE_CHUNK)])


def make_batcher(params: dict, split: FoldSplit, train_genes: np.ndarray, pa, pb):
    """The epoch's batches of ``params["batching"]`` (:mod:`tfvocab.model.batches`) over the training
    genes (local indices ``pa, pb`` of the positives)."""
    listed = split.listed_among(train_genes)
    if params["batching"] == "genes":
        return GeneBatches(len(train_genes), pa, pb, listed, int(params["batch_genes"]),
                           float(params["partner_fraction"]), int(params["seed"]))
    fixed = split.negatives_among(train_genes) if params["negatives"] == "listed" else None
    sampler = NegativeSampler(len(train_genes), pa, pb, listed, scheme=params["negatives"],
                              ratio=float(params["neg_ratio"]), seed=int(params["seed"]), fixed=fixed)
    return PairBatches(pa, pb, sampler, int(params["batch_size"]), int(params["seed"]))


def train_model(data: GeneData, pairs: pd.DataFrame, params: dict, outdir, *, resume: bool = False,
                stop_after_steps: int | None = None, write_model: bool = True,
                split: FoldSplit | None = None) -> dict:
    """Train the model of fold ``params["fold"]``; write checkpoint/log/model under ``outdir``.

    ``pairs``: ``pairs.tsv`` read by :func:`tfvocab.data.genedata.read_pairs`; ``split``: the fold's
    gene roles (:func:`tfvocab.data.folds.fold_split`; None = a single-split ``pairs.tsv``). Each
    epoch's steps come from :func:`make_batcher` (gene batches or sampled pairs); validation =
    AUPRC on every pair among the validation genes (the universe, not a sample).
    Returns ``{"model", "best_epoch", "val_auprc", "log" (DataFrame), "paths"}``.
    """
    outdir = Path(outdir)
    world, rank, local_rank = dist_info()
    device = resolve_device(params["device"], local_rank)
    writer = rank == 0
    stop_after_steps = stop_after_steps or (int(os.environ["TFVOCAB_STOP_AFTER_STEPS"])
                                            if os.environ.get("TFVOCAB_STOP_AFTER_STEPS") else None)
    torch.manual_seed(int(params["seed"]))
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
    if split is None:
        split = fold_split(pairs, data.index, None, int(params.get("fold") or 0))
    train_genes = split.genes("train")
    if params.get("shuffle_labels"):
        # training AND validation positives permuted (each among its own genes): early stopping
        # and model selection must not see the real labels either
        split = shuffle_positives(split, train_genes, int(params["seed"]))
        split = shuffle_positives(split, split.genes("val"), int(params["seed"]) + 1)
    pa, pb = split.positives_among(train_genes)
    if len(pa) == 0:
        raise TfvocabError(f"no positive training pairs (label 1, both genes among the {len(train_genes)} "
                           f"training genes of fold {split.fold})", path=pairs.attrs.get("path"),
                           hint="check the co-expression list and --threshold given to `tfvocab pairs`; "
                                "pairs.report.json counts what was kept and why")
    n_pos = len(pa)
    if params["loss"] == "nnpu" and params["prior"] is None:
        # class prior of the unlabelled pairs: assume as many unlisted as listed positives
        params = {**params, "prior": float(min(0.5, n_pos / max(U.n_pairs(len(train_genes)), 1)))}
        log.info("nnPU prior = %.3g (listed prevalence of the training universe)", params["prior"])
    batcher = make_batcher(params, split, train_genes, pa, pb)
    first = batcher.steps(1, world, rank)
    validation = Validation(split, int(params["max_val_genes"]), int(params["seed"]))
    what = (f"gene batches of {batcher.B} genes ({sum(len(st.y) for st in first)} pairs per epoch)"
            if params["batching"] == "genes" else
            f"{sum(len(st.y) for st in first)} sampled pairs per epoch ({params['negatives']} negatives)")
    log.info("fold %d of %d: %d training genes (%d positives), %s; validation universe of %d genes "
             "(%d pairs, %d positive)", split.fold, split.n_folds, len(train_genes), n_pos, what,
             len(validation.genes), len(validation.labels), int(validation.labels.sum()))

    model = build_model(params, data).to(device)
    data = data.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=float(params["lr"]), weight_decay=float(params["weight_decay"]))
    steps_per_epoch = len(first)
    if int(params.get("max_steps_per_epoch") or 0) > 0:
        steps_per_epoch = min(steps_per_epoch, int(params["max_steps_per_epoch"]))
    total = steps_per_epoch * int(params["epochs"])
    warm = int(round(float(params["warmup_epochs"]) * steps_per_epoch))
    if params["scheduler"] == "cosine":
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: _lr_factor(s, warm, total))
    else:
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.5,
                                                           patience=max(1, int(params["patience"]) // 2))
    state = {"epoch": 0, "best": -1.0, "best_epoch": 0, "bad_epochs": 0, "best_state": None, "log": [],
             "step": 0}
    ckpt_path = outdir / CHECKPOINT
    lineage = {**data.lineage, "pairs": pairs.attrs.get("digest")}
    if resume:
        if ckpt_path.exists():
            ck = formats.read_checkpoint(ckpt_path)
            check_resume(ck, params, lineage, ckpt_path)
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["optimizer"])
            sched.load_state_dict(ck["scheduler"])
            torch.set_rng_state(ck["rng_cpu"])
            if device.type == "cuda" and ck.get("rng_cuda") is not None:
                torch.cuda.set_rng_state(ck["rng_cuda"], device)
            state = ck["state"]
            log.info("resuming after epoch %d (best val AUPRC %.4f at epoch %d)",
                     state["epoch"], state["best"], state["best_epoch"])
        else:
            log.warning("--resume: no %s in %s, starting from scratch", CHECKPOINT, outdir)
    if writer:
        outdir.mkdir(parents=True, exist_ok=True)
        publish.CURRENT["checkpoint"] = str(ckpt_path)

    net = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        net = DDP(model, device_ids=[local_rank] if device.type == "cuda" else None)

    steps_this_run = 0
    with timed(f"training {params['epochs']} epochs ({params['batching']} batches) on {device}", log):
        for epoch in range(state["epoch"] + 1, int(params["epochs"]) + 1):
            if state["bad_epochs"] >= int(params["patience"]):
                log.info("early stopping: stopped after epoch %d, best epoch %d (val AUPRC %.4f; no "
                         "gain for %d epochs)", state["epoch"], state["best_epoch"], state["best"],
                         state["bad_epochs"])
                break
            t0 = time.perf_counter()
            model.train()
            steps = (first if epoch == 1 else batcher.steps(epoch, world, rank))[:steps_per_epoch]
            losses, n_pairs, n_genes = [], 0, 0
            for st in progress(steps, desc=f"epoch {epoch}", total=len(steps), unit="batch"):
                genes = torch.from_numpy(train_genes[st.genes])
                ia, ib = torch.from_numpy(st.ia).to(device), torch.from_numpy(st.ib).to(device)
                y = torch.from_numpy(st.y).to(device)
                with autocast(device):
                    tok, val, m, emb = _embed(model, data, genes, world)
                    if emb is not None:
                        logits = model.pair_logits(emb, ia, ib).float()
                    else:
                        logits = net(tok, val, m, ia, ib).float()
                obj, risk = batch_loss(logits, y, params["loss"], params["prior"])
                opt.zero_grad(set_to_none=True)
                obj.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                if params["scheduler"] == "cosine":
                    sched.step()
                losses.append(float(risk.detach()))
                n_pairs += len(st.y)
                n_genes += len(st.genes)
                state["step"] += 1
                steps_this_run += 1
                if stop_after_steps is not None and steps_this_run >= stop_after_steps:
                    raise TrainingInterrupted(f"stopped after {steps_this_run} steps (test hook)")
            t_fit = time.perf_counter() - t0
            # validation on the universe of the validation genes (every rank: same decision)
            met = validation.metrics(_universe_logits(model, data, validation.genes, device), params)
            lr_now = opt.param_groups[0]["lr"]
            if params["scheduler"] == "plateau":
                sched.step(met["auprc"] if np.isfinite(met["auprc"]) else 0.0)
            auprc = met["auprc"] if np.isfinite(met["auprc"]) else 0.0
            if auprc > state["best"] + 1e-6:
                state.update(best=auprc, best_epoch=epoch, bad_epochs=0,
                             best_state={k: v.detach().cpu().clone() for k, v in model.state_dict().items()})
            else:
                state["bad_epochs"] += 1
            state["epoch"] = epoch
            state["log"].append({"epoch": epoch, "train_loss": float(np.mean(losses)) if losses else float("nan"),
                                 "val_loss": met["loss"], "val_auprc": met["auprc"], "val_auroc": met["auroc"],
                                 "lr": lr_now, "seconds": round(time.perf_counter() - t0, 3)})
            log.info("epoch %d: train loss %.4f, val loss %.4f, val universe AUPRC %.4f, AUROC %.4f; "
                     "%d training pairs (%d gene embeddings) in %.1f s (%.0f pairs/s), validation %.1f s",
                     epoch, state["log"][-1]["train_loss"], met["loss"], met["auprc"], met["auroc"],
                     n_pairs, n_genes, t_fit, n_pairs / max(t_fit, 1e-9), time.perf_counter() - t0 - t_fit)
            if writer:
                formats.write_checkpoint(ckpt_path, {
                    "model": model.state_dict(), "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(), "rng_cpu": torch.get_rng_state(),
                    "rng_cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                    "state": state, "params": params, "lineage": lineage, "version": __version__})
                publish.CURRENT["epoch"] = epoch
    if state["best_state"] is not None:
        model.load_state_dict(state["best_state"])
    return {"model": model, "best_epoch": state["best_epoch"], "val_auprc": state["best"],
            "log": pd.DataFrame(state["log"], columns=LOG_COLUMNS), "paths": {"checkpoint": ckpt_path},
            "params": params, "lineage": lineage, "writer": writer, "fold": split.fold,
            "n_folds": split.n_folds}
