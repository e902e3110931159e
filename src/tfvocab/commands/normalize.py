"""``tfvocab normalize``: thin click wrapper around :func:`tfvocab.data.normalize.run`."""
from __future__ import annotations

from pathlib import Path

import click

from ..defaults import default


@click.command("normalize", help="Fit each TF's background (its input control's local level, "
               "or its own off-peak windows) and write the per-window enrichment z-score over it "
               "(default), or the depth-scaled, control-subtracted, log2(x + c), z-scored signal "
               "(--transform logz, each step switchable); writes DIR/normalized.h5 with per-TF "
               "stats reusable on new genes.")
@click.option("--signal", "signal", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="signal.h5 from `tfvocab merge` (genes x windows x TFs).")
@click.option("--outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (created); receives normalized.h5.")
@click.option("--transform", type=click.Choice(["enrichment", "logz"]), default="enrichment",
              show_default=True, help="enrichment: one-sided z-score of each window against the "
              "TF's background model (0 = background; calls at p < alpha / #TFs); logz: the "
              "depth / control / log / z-score chain.")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05,
              show_default=True, help="Per-window error rate of enrichment calls (Bonferroni "
              "over the TFs: a TF is called at p < alpha / #TFs).")
@click.option("--no-depth", is_flag=True, help="Skip depth scaling (logz: each TF's fitted "
              "background level / its median across TFs).")
@click.option("--no-control", is_flag=True, help="Ignore the input controls (enrichment: "
              "background from the track's own off-peak windows; logz: no control subtraction).")
@click.option("--no-log", is_flag=True, help="logz: skip the log2(x + pseudocount) transform.")
@click.option("--no-zscore", is_flag=True, help="logz: skip the per-TF z-score across promoters.")
@click.option("--pseudocount", type=float, default=default("pseudocount"), show_default=True,
              help="c in log2(x + c), in depth-scaled signal units.")
@click.option("--drop-low-signal", is_flag=True, help="Drop TFs without enrichment (enriched "
              "windows not above the calling error rate, or below --min-active-frac; they are "
              "always reported).")
@click.option("--min-active-frac", type=float, default=0.0, show_default=True,
              help="Also report TFs active in fewer than this fraction (0-1) of their observed "
              "windows (enrichment: called windows; logz: signal > 0 after depth / control).")
@click.option("--stats", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Reuse the stats (and steps) of a previous normalized.h5 instead of fitting.")
def cli(signal, outdir, transform, alpha, no_depth, no_control, no_log, no_zscore, pseudocount,
        drop_low_signal, min_active_frac, stats):
    from tfvocab.data.normalize import run

    paths = run(signal=signal, outdir=outdir, depth=not no_depth, control=not no_control,
                log=not no_log, zscore=not no_zscore, pseudocount=pseudocount,
                drop_low_signal=drop_low_signal, min_active_frac=min_active_frac, stats=stats,
                transform=transform, alpha=alpha)
    for name, path in paths.items():
        click.echo(f"{name}\t{path}")
