"""The ``tfvocab`` command line: one click group, one thin sub-command per pipeline step.

Sub-commands live in ``tfvocab.commands.<step>`` (an object named ``cli``) and are imported
lazily, so ``tfvocab --help`` is fast and a step's heavy imports (torch, h5py...) load only
when that step runs. Library errors (:class:`tfvocab.errors.TfvocabError`) are printed as one
line and exit with status 2.
"""
from __future__ import annotations

import importlib
import sys

import click

from . import __version__
from .errors import TfvocabError
from .log import setup_logging

# step name -> one-line summary; the order is the pipeline's order.
STEPS = {
    "simulate": "Simulate a genome, annotation, DAP-seq bigWigs and co-expression with planted truth.",
    "promoters": "Define promoters (-2000..+500 around the start codon) from GFF3 + FASTA.",
    "extract": "Average bigWig signal over 50 bp promoter windows (one or more TFs).",
    "merge": "Gather per-TF signal files into one (genes, windows, TFs) tensor.",
    "normalize": "Depth-scale, control-subtract, log-transform and z-score the signal.",
    "tokenize": "Learn the TF vocabulary (k-means over window vectors) and tokenize promoters.",
    "pairs": "Listed pairs from a co-expression list and K gene-disjoint folds of every gene.",
    "train": "Train the Siamese transformer of one fold.",
    "evaluate": "Score every pair among a fold's held-out genes: model, baselines, controls.",
    "summarize": "Aggregate the folds' metrics: means, 95% intervals, the verdict.",
    "tune": "Random search over the main hyperparameters on validation AUPRC.",
    "interpret": "Attention rollout, integrated gradients and TF knock-outs.",
    "predict": "Score pairs or all-vs-all and write the predicted network.",
    "report": "Assemble one self-contained report.html.",
    "demo": "Run every step on simulated data, in the pipeline's order.",
}


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported on first use."""

    def list_commands(self, ctx):
        return list(STEPS)

    def get_command(self, ctx, name):
        if name not in STEPS:
            return None
        try:
            module = importlib.import_module(f"tfvocab.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"tfvocab.commands.{name}":
                return _unavailable(name)
            raise
        return module.cli

    def format_commands(self, ctx, formatter):
        rows = [(name, summary) for name, summary in STEPS.items()]
        with formatter.section("Commands (pipeline order)"):
            formatter.write_dl(rows)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except TfvocabError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            click.echo(f"Interrupted: {interrupted_note(ctx)}", err=True)
            ctx.exit(130)
        except OSError as exc:          # disk, permissions...: one line, naming the file
            where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
            raise click.ClickException(f"{where}{exc.strerror or exc}") from None


def interrupted_note(ctx) -> str:
    """What an interrupted command kept, and the command that continues it (one line)."""
    import shlex

    from .publish import CURRENT, CURRENT_DEMO

    argv = ["tfvocab"] + sys.argv[1:]
    resume = " ".join(shlex.quote(a) for a in argv + ([] if "--resume" in argv else ["--resume"]))
    if CURRENT_DEMO:
        return (f"the demo stopped during step {CURRENT_DEMO['step']}; the finished steps in "
                f"{CURRENT_DEMO['outdir']} are kept; continue with: {resume}")
    if CURRENT.get("checkpoint") and CURRENT.get("epoch"):
        return (f"{CURRENT['checkpoint']} holds epoch {CURRENT['epoch']}; continue with: {resume}")
    if CURRENT.get("outdir"):
        return (f"nothing of this `tfvocab {CURRENT['step']}` run was published; the previous "
                f"outputs in {CURRENT['outdir']} are unchanged; rerun: "
                f"{' '.join(shlex.quote(a) for a in argv)}")
    return "nothing was written; rerun: " + " ".join(shlex.quote(a) for a in argv)


def _unavailable(name: str) -> click.Command:
    @click.command(name=name, help=f"{STEPS[name]} (not available in this version)")
    def _cmd():
        raise click.ClickException(f"'tfvocab {name}' is not available in tfvocab {__version__}")
    return _cmd


click.ClickException.exit_code = 2


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"],
                                                "max_content_width": 100})
@click.version_option(__version__, prog_name="tfvocab")
@click.option("-v", "--verbose", count=True, help="More logging (repeatable).")
@click.option("-q", "--quiet", count=True, help="Less logging (repeatable).")
def main(verbose: int, quiet: int) -> None:
    """tfvocab: predict gene co-expression from DAP-seq TF binding over promoters.

    Each sub-command is one pipeline step; every step writes its files under --outdir.
    Coordinates are 0-based half-open; windows are listed 5'->3' in the gene's orientation.
    """
    setup_logging(verbose - quiet)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
