"""``tfvocab summarize``: thin click wrapper around :func:`tfvocab.evaluation.summarize.run`."""
from __future__ import annotations

import click

from ..defaults import default


@click.command(name="summarize")
@click.argument("metrics", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--outdir", type=click.Path(file_okay=False), required=True,
              help="Output folder (summary.json, summary.tsv, summary.png).")
@click.option("--seed", type=int, default=default("seed"), show_default=True, help="Seed of the fold-level bootstrap.")
def cli(metrics, outdir, seed):
    """Aggregate the folds' metrics.json (one per fold, from `tfvocab evaluate`): mean and 95%
    interval per model and metric, transformer - best baseline, the verdict."""
    from ..evaluation.summarize import run

    paths = run(list(metrics), outdir, seed=seed)
    click.echo(paths["summary"])
