"""``tfvocab report``: assemble one self-contained report.html from step outputs."""
from __future__ import annotations

import click


@click.command(name="report")
@click.option("--outdir", required=True, type=click.Path(file_okay=False),
              help="Output folder; report.html is written there.")
@click.option("--title", default="tfvocab report", show_default=True, help="Page title.")
@click.argument("result_paths", nargs=-1, required=True, type=click.Path(exists=True))
def cli(outdir, title, result_paths):
    """Assemble ONE self-contained report.html (images embedded, no external URLs).

    RESULT_PATH: step output files or folders (searched recursively); known files are found by
    name (promoters.tsv, normalized.h5, vocabulary.tsv, train_log.tsv, metrics.json, ...).
    Sections whose inputs are missing say what is missing.
    """
    from tfvocab.report.page import run

    paths = run(result_paths=list(result_paths), outdir=outdir, title=title)
    click.echo(str(paths["report"]))
