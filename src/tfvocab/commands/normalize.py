"""``tfvocab normalize``: thin click wrapper around :func:`tfvocab.normalize.run`."""
from __future__ import annotations

from pathlib import Path

import click

from ..defaults import default


@click.command("normalize", help="Depth-scale, control-subtract, log2(x + c) and z-score the "
               "per-window TF signal of signal.h5 (each step switchable); writes "
               "DIR/normalized.h5 with per-TF stats reusable on new genes.")
@click.option("--signal", "signal", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="signal.h5 from `tfvocab merge` (genes x windows x TFs).")
@click.option("--outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (created); receives normalized.h5.")
@click.option("--no-depth", is_flag=True, help="Skip depth scaling (per-TF signal per observed "
              "promoter window / its median across TFs).")
@click.option("--no-control", is_flag=True, help="Skip input-control subtraction (scaled "
              "control subtracted, negatives clipped to 0).")
@click.option("--no-log", is_flag=True, help="Skip the log2(x + pseudocount) transform.")
@click.option("--no-zscore", is_flag=True, help="Skip the per-TF z-score across promoters.")
@click.option("--pseudocount", type=float, default=default("pseudocount"), show_default=True,
              help="c in log2(x + c), in depth-scaled signal units.")
@click.option("--drop-low-signal", is_flag=True, help="Drop TFs active in fewer than "
              "--min-active-frac of their windows (they are always reported).")
@click.option("--min-active-frac", type=float, default=0.01, show_default=True,
              help="Low-signal threshold: fraction (0-1) of observed windows with signal > 0 "
              "after depth scaling / control subtraction.")
@click.option("--stats", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Reuse the stats (and steps) of a previous normalized.h5 instead of fitting.")
def cli(signal, outdir, no_depth, no_control, no_log, no_zscore, pseudocount, drop_low_signal,
        min_active_frac, stats):
    from tfvocab.normalize import run

    paths = run(signal=signal, outdir=outdir, depth=not no_depth, control=not no_control,
                log=not no_log, zscore=not no_zscore, pseudocount=pseudocount,
                drop_low_signal=drop_low_signal, min_active_frac=min_active_frac, stats=stats)
    for name, path in paths.items():
        click.echo(f"{name}\t{path}")
