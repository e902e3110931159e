"""One source of defaults for every option that the CLI, ``tfvocab demo``, the Nextflow params,
``nextflow_schema.json`` and ``docs/usage.md`` share.

Each :class:`Option` is named by its Nextflow parameter (snake_case) and knows the CLI flag and
the step commands that take it. The click commands read their defaults from here, ``tfvocab
demo`` calls the step functions with them, and a contract test (``tests/nextflow``) fails when
``nextflow.config``, ``nextflow_schema.json`` or ``docs/usage.md`` give another value.
Change a default here, in one place, and update those three files to match.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Option:
    """A shared option: Nextflow ``param`` name, ``default``, CLI ``flag``, the ``steps`` whose
    command takes it, and a one-line ``help`` with units."""

    param: str
    default: Any
    flag: str
    steps: tuple[str, ...]
    help: str


OPTIONS: dict[str, Option] = {o.param: o for o in (
    Option("upstream", 2000, "--upstream", ("promoters",),
           "Promoter length upstream of the start codon (bp)."),
    Option("downstream", 500, "--downstream", ("promoters",),
           "Promoter length downstream of the start codon (bp)."),
    Option("window", 50, "--window", ("extract",), "Window width (bp)."),
    Option("stride", 50, "--stride", ("extract",), "Distance between window starts (bp)."),
    Option("pseudocount", 1.0, "--pseudocount", ("normalize",),
           "c in log2(x + c), in depth-scaled signal units."),
    Option("drop_low_signal", False, "--drop-low-signal", ("normalize",),
           "Drop TFs without enrichment (they are always reported)."),
    Option("vocab_size", 512, "--vocab-size", ("tokenize",),
           "Number of learned tokens (k-means clusters of bound windows)."),
    Option("folds", 5, "--folds", ("pairs",),
           "Gene-disjoint folds: one model per fold, each gene in one test fold."),
    Option("split", "gene", "--split", ("pairs",),
           "How genes are grouped into folds (all gene-disjoint)."),
    Option("neg_ratio", 10.0, "--neg-ratio", ("train",),
           "Negative pairs drawn per positive pair (per epoch)."),
    Option("negatives", "mixed", "--negatives", ("train",),
           "Negative sampling scheme (docs/evaluation.md)."),
    Option("batching", "genes", "--batching", ("train",),
           "Training batches: every pair among a batch of genes, or sampled pairs."),
    Option("batch_genes", 256, "--batch-genes", ("train",),
           "Genes per training step with --batching genes (every pair among them is scored)."),
    Option("model_input", "continuous", "--input", ("train",),
           "Tower input: tokens, continuous window signal, or both."),
    Option("epochs", 30, "--epochs", ("train",), "Maximum training epochs."),
    Option("top_k", 50, "--top-k", ("predict",),
           "All-vs-all: best partners kept per gene (network = union of the lists)."),
    Option("seed", 0, "--seed", ("simulate", "tokenize", "pairs", "train", "evaluate", "predict"),
           "Random seed."),
)}


def default(param: str) -> Any:
    """The default of the shared option ``param`` (its Nextflow parameter name)."""
    return OPTIONS[param].default
