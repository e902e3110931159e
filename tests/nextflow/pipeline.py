"""The pipeline as the tests of tests/nextflow see it: files, processes, params, schema."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import nfparse as nf

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(p.parent for p in (ROOT / "modules/local").glob("*/main.nf"))
MODULE_IDS = [m.name for m in MODULES]
#: the pipeline's steps in the order the workflow runs them (the folds contract: SUMMARIZE after
#: EVALUATE); `tfvocab demo` runs the same order (tests/test_demo.py)
PIPELINE_ORDER = ["simulate", "promoters", "extract", "merge", "normalize", "tokenize", "pairs",
                  "train", "evaluate", "summarize", "interpret", "predict", "report"]
#: the resource labels of conf/base.config
LABELS = {"process_single", "process_low", "process_medium", "process_high", "process_gpu"}
#: steps that run once per fold (meta.fold) and publish into <step>/fold_<k>/
FOLD_STEPS = {"train", "evaluate"}
#: params nf-schema handles itself (no declaration needed)
NF_SCHEMA_INTERNALS = {"help", "help_full", "show_hidden"}


def step_of(process: str) -> str:
    return process.removeprefix("TFVOCAB_").lower()


@lru_cache(maxsize=None)
def procs() -> dict[str, nf.Process]:
    out = {}
    for m in MODULES:
        out.update(nf.processes(m / "main.nf"))
    return out


def nextflow_files() -> list[Path]:
    """Every .nf / .config file of the pipeline (not tests, caches or work folders)."""
    skip = {"work", ".nextflow", ".nf-test", "results", ".git", ".ci", "tests"}
    return sorted(p for p in ROOT.rglob("*") if p.suffix in (".nf", ".config") and p.is_file()
                  and p.name != "nf-test.config"
                  and not any(part in skip for part in p.relative_to(ROOT).parts[:-1]))


def config_params() -> dict:
    """Top-level params of nextflow.config (includes followed, profiles excluded), as Python values."""
    return {k: nf.literal(v) for k, v in nf.top_level_params(ROOT / "nextflow.config").items()}


def schema() -> dict:
    return json.loads((ROOT / "nextflow_schema.json").read_text())


def schema_params() -> dict[str, dict]:
    s = schema()
    props = dict(s.get("properties", {}))
    for group in s.get("$defs", {}).values():
        props.update(group.get("properties", {}))
    return props


def modules_config_blocks() -> dict[str, str]:
    """``{process: body}`` of the ``withName`` blocks of conf/modules.config."""
    return nf.with_name_blocks((ROOT / "conf/modules.config").read_text())
