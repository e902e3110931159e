"""``tfvocab demo``: thin click wrapper around :func:`tfvocab.demo.run`."""
from __future__ import annotations

import click

from ..defaults import default


@click.command(name="demo")
@click.option("--preset", type=click.Choice(["tiny", "small"]), default="tiny", show_default=True,
              help="Simulated dataset: tiny (~150 genes, 8 TFs, seconds) or small (~2,000 genes, 40 TFs, minutes).")
@click.option("--outdir", type=click.Path(file_okay=False), required=True,
              help="Output folder; one subfolder per step, as the Nextflow pipeline publishes it.")
@click.option("--seed", type=int, default=default("seed"), show_default=True, help="Random seed for every step.")
@click.option("--epochs", type=int, default=None,
              help="Override the training epochs of the preset (tiny: 4, small: 10; `tfvocab train`'s default is 30).")
@click.option("--resume", is_flag=True,
              help="Skip the steps that finished with the same arguments (their folders complete).")
def cli(preset, outdir, seed, epochs, resume):
    """Run every step (simulate -> ... -> report) in-process on simulated data."""
    from ..demo import run

    paths = run(preset=preset, outdir=outdir, seed=seed, epochs=epochs, resume=resume)
    click.echo(f"report: {paths['report_html']}")
