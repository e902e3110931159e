"""``tfvocab demo``: every pipeline step, in the pipeline's order, in-process, on simulated data.

This is the local quick path for machines without Nextflow. It calls exactly the same ``run()``
functions as the step commands (no second implementation) and writes the layout the Nextflow
pipeline publishes: one subfolder per step under ``outdir`` (``simulate/``, ``promoters/``,
``extract/``, ..., ``report/``). The order of :data:`PIPELINE` is checked against
``workflows/tfvocab.nf`` by the test-suite.
"""
from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

from . import publish
from .errors import TfvocabError
from .io import write_json
from .log import get_logger
from .publish import folder_complete
from .data.samplesheet import read_samplesheet, tracks

log = get_logger("demo")

#: the steps, in the order ``workflows/tfvocab.nf`` runs them
PIPELINE = ("simulate", "promoters", "extract", "merge", "normalize", "tokenize", "pairs",
            "train", "evaluate", "summarize", "interpret", "predict", "report")

#: per-preset settings of the steps (everything else: the step's own defaults, as in the pipeline).
#: small trains 10 epochs (the slow tests' budget; 5-fold universe AUPRC 0.369 vs 0.394 with the
#: default 30, docs/evaluation.md) so that the demo stays within minutes on 2 cores.
PRESET_PARAMS = {
    "tiny": {"vocab_size": 32, "epochs": 4, "n_pairs": 4, "top_k": 10},
    "small": {"vocab_size": 128, "epochs": 10, "n_pairs": 20, "top_k": 50},
}


DATA_STEPS = ("promoters", "extract", "merge", "normalize", "tokenize", "pairs")


def data_steps(sim: str | Path, outdir: str | Path, seed: int = 0, vocab_size: int | None = None,
               split: str = "gene", step=None) -> dict[str, Path]:
    """Run :data:`DATA_STEPS` on a ``tfvocab simulate`` folder ``sim``, one subfolder per step.

    ``vocab_size``/``split``: as ``tfvocab tokenize``/``tfvocab pairs`` (None = the step's default).
    ``step(name, fn, **kwargs)``: how to call each step (default: ``fn(outdir=outdir/name, ...)``).
    Returns the main file of each step (``promoters``, ``signal``, ``normalized``, ``tokens``,
    ``pairs``) and the simulation's ``truth`` folder.
    """
    from .data import extract, merge, normalize, pairs, promoters, tokens

    sim, out = Path(sim), Path(outdir)
    d = {name: out / name for name in DATA_STEPS}
    if step is None:
        def step(name, fn, **kwargs):
            return fn(outdir=d[name], **kwargs)

    step("promoters", promoters.run, gff=sim / "annotation.gff3", fasta=sim / "genome.fa")
    prom_tsv = d["promoters"] / "promoters.tsv"

    # EXTRACT is scattered in the pipeline (one task per TF / control track): same here
    def extract_all(outdir):
        for name, path, _kind in tracks(read_samplesheet(sim / "samplesheet.csv")):
            extract.run(promoters=prom_tsv, bigwig=[path], tf=[name], outdir=outdir)
    step("extract", extract_all)
    step("merge", merge.run, signal=sorted(d["extract"].glob("signal.*.h5")),
         samplesheet=sim / "samplesheet.csv")
    step("normalize", normalize.run, signal=d["merge"] / "signal.h5")
    norm_h5 = d["normalize"] / "normalized.h5"
    vocab = {} if vocab_size is None else {"vocab_size": vocab_size}
    step("tokenize", tokens.run, normalized=norm_h5, seed=seed, **vocab)
    step("pairs", pairs.run, coexpression=sim / "coexpression.tsv", promoters=prom_tsv, seed=seed,
         split=split)
    return {"promoters": prom_tsv, "signal": d["merge"] / "signal.h5", "normalized": norm_h5,
            "tokens": d["tokenize"] / "tokens.h5", "pairs": d["pairs"] / "pairs.tsv",
            "truth": sim / "truth"}


STATE = "demo.json"


def _key(kwargs: dict, root: Path) -> str:
    """The arguments of a step call as a string, paths relative to the demo's folder ``root``."""
    def rel(v):
        if isinstance(v, Path):
            return str(v.relative_to(root)) if v.is_relative_to(root) else str(v)
        if isinstance(v, (list, tuple)):
            return [rel(x) for x in v]
        return v
    return json.dumps({k: rel(v) for k, v in sorted(kwargs.items())}, sort_keys=True, default=str)


def run(preset: str = "tiny", outdir: str | Path = "demo_out", seed: int = 0,
        epochs: int | None = None, resume: bool = False) -> dict[str, Path]:
    """Run :data:`PIPELINE` on the ``preset`` simulation; returns the main output of each step.

    ``OUTDIR/demo.json`` records each finished step and the arguments it ran with; with ``resume``
    the steps are skipped, in order, while they finished with the same arguments and their folder
    is complete (:func:`tfvocab.publish.folder_complete`); from the first step that runs again,
    every later step runs too. An interrupted demo continues where it stopped.
    """
    from . import formats
    from .evaluation import evaluate, interpret, predict, summarize
    from .model import train
    from .simulate import dataset as simulate
    from .report import page as report

    if preset not in PRESET_PARAMS:
        raise TfvocabError(f"unknown demo preset '{preset}'", hint=f"use one of {sorted(PRESET_PARAMS)}")
    p = dict(PRESET_PARAMS[preset])
    if epochs is not None:
        p["epochs"] = epochs
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    d = {step: out / step for step in PIPELINE}
    timings: dict[str, float] = {}
    done: dict[str, Path] = {}
    state_path = out / STATE
    state = {"preset": preset, "seed": seed, "steps": {}}
    if resume and state_path.exists():
        with contextlib.suppress(ValueError, OSError):
            old = json.loads(state_path.read_text())
            if old.get("preset") == preset and old.get("seed") == seed:
                state["steps"] = old.get("steps", {})

    skipping = [resume]        # once a step runs again, every later step runs too

    def complete(folder: Path) -> bool:
        """A step's folder is complete, or (train, evaluate) each of its fold_<k>/ subfolders is."""
        folds = sorted(folder.glob("fold_*"))
        return folder_complete(folder) or (bool(folds) and all(folder_complete(f) for f in folds))

    def step(name, fn, **kwargs):
        n = PIPELINE.index(name) + 1
        key = _key(kwargs, out)
        rec = state["steps"].get(name)
        if skipping[0] and rec and rec.get("args") == key and complete(d[name]):
            log.info("[%d/%d] %s: complete in %s, skipped (--resume)", n, len(PIPELINE), name, d[name])
            timings[name] = 0.0
            return None
        skipping[0] = False
        state["steps"].pop(name, None)
        publish.CURRENT_DEMO.update(step=name, outdir=str(out), preset=preset, seed=seed)
        log.info("[%d/%d] %s", n, len(PIPELINE), name)
        t0 = time.perf_counter()
        result = fn(outdir=d[name], **kwargs)
        timings[name] = time.perf_counter() - t0
        state["steps"][name] = {"args": key, "seconds": round(timings[name], 2)}
        write_json(state_path, state)
        log.info("[%d/%d] %s: done in %.1f s", n, len(PIPELINE), name, timings[name])
        return result

    step("simulate", simulate.run, preset=preset, seed=seed)
    sim = d["simulate"]
    f = data_steps(sim, out, seed=seed, vocab_size=p["vocab_size"], step=step)
    prom_tsv, pairs_tsv, truth = f["promoters"], f["pairs"], f["truth"]
    data = {"tokens": f["tokens"], "normalized": f["normalized"]}
    # one model per fold of genes.tsv (the pipeline scatters the folds): train/fold_<k>/,
    # evaluate/fold_<k>/; summarize gathers them; interpret and predict use the fold-0 model
    n_folds = int(formats.read_genes(pairs_tsv.with_name("genes.tsv"))["fold"].max()) + 1
    models = [d["train"] / f"fold_{k}" / "model.pt" for k in range(n_folds)]

    def train_folds(outdir, **kwargs):
        return [train.run(outdir=Path(outdir) / f"fold_{k}", fold=k, **kwargs) for k in range(n_folds)]

    def evaluate_folds(outdir, **kwargs):
        return [evaluate.run(model=models[k], outdir=Path(outdir) / f"fold_{k}", **kwargs)
                for k in range(n_folds)]

    step("train", train_folds, pairs=pairs_tsv, epochs=p["epochs"], seed=seed, **data)
    step("evaluate", evaluate_folds, pairs=pairs_tsv, promoters=prom_tsv, truth=truth, seed=seed, **data)
    step("summarize", summarize.run, metrics=[d["evaluate"] / f"fold_{k}" / "metrics.json" for k in range(n_folds)],
         seed=seed)
    model = models[0]
    step("interpret", interpret.run, model=model, pairs=pairs_tsv, promoters=prom_tsv,
         truth=truth, n_pairs=p["n_pairs"], seed=seed, **data)
    step("predict", predict.run, model=model, top_k=p["top_k"], seed=seed, **data)
    step("report", report.run, result_paths=[d[s] for s in PIPELINE if s != "report"])
    publish.CURRENT_DEMO.clear()

    total = sum(timings.values())
    log.info("demo (%s) finished in %.1f s: %s", preset, total,
             ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    done.update({s: d[s] for s in PIPELINE})
    done["report_html"] = d["report"] / "report.html"
    return done
