"""``tfvocab merge``: thin click wrapper around :func:`tfvocab.data.merge.run`."""
from __future__ import annotations

from pathlib import Path

import click


@click.command("merge", help="Gather per-TF signal.<tf>.h5 files (from `tfvocab extract`) into "
               "DIR/signal.h5: float32 (genes, windows, TFs) chunked by 256 genes. With "
               "--samplesheet, control tracks (its `control` column) go to control_signal, not "
               "to the TF axis, and TFs follow the samplesheet's order (else sorted by name).")
@click.option("--outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (created); receives signal.h5.")
@click.option("--samplesheet", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="samplesheet.csv (columns tf,bigwig,control): TF order and control tracks.")
@click.argument("signal", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def cli(outdir, samplesheet, signal):
    from tfvocab.data.merge import run

    paths = run(signal=list(signal), outdir=outdir, samplesheet=samplesheet)
    for name, path in paths.items():
        click.echo(f"{name}\t{path}")
