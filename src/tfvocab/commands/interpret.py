"""``tfvocab interpret``: attention rollout, integrated gradients and TF knock-outs."""
from __future__ import annotations

import click

from ..defaults import default


@click.command(name="interpret")
@click.option("--model", required=True, type=click.Path(exists=True, dir_okay=False),
              help="model.pt from `tfvocab train`.")
@click.option("--tokens", required=True, type=click.Path(exists=True, dir_okay=False),
              help="tokens.h5 (codebook: 'no binding' levels and re-tokenisation of knock-outs).")
@click.option("--normalized", required=True, type=click.Path(exists=True, dir_okay=False),
              help="normalized.h5 from `tfvocab normalize`.")
@click.option("--pairs", required=True, type=click.Path(exists=True, dir_okay=False),
              help="pairs.tsv: the positive test pairs scored highest are interpreted.")
@click.option("--outdir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--promoters", type=click.Path(exists=True, dir_okay=False), default=None,
              help="promoters.tsv (optional; recorded in the provenance).")
@click.option("--n-pairs", type=click.IntRange(min=1), default=20, show_default=True,
              help="Number of example pairs (integrated gradients and knock-outs of every TF).")
@click.option("--truth", type=click.Path(exists=True, file_okay=False), default=None,
              help="truth/ folder of `tfvocab simulate`: check IG windows and knock-outs against the "
                   "planted sites and grammar.")
@click.option("--steps", type=click.IntRange(min=2), default=256, show_default=True,
              help="Integration steps of integrated gradients (trapezoid rule).")
@click.option("--n-plots", type=click.IntRange(min=0), default=4, show_default=True,
              help="Heatmap PNGs for this many of the best pairs.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="cpu", show_default=True,
              help="Where to run the model.")
@click.option("--seed", type=int, default=default("seed"), show_default=True, help="Seed (random TF picks).")
def cli(model, tokens, normalized, pairs, outdir, promoters, n_pairs, truth, steps, n_plots, device, seed):
    """Attention rollout, integrated gradients (window x TF) and in-silico TF knock-outs for the
    best-scored positive test pairs; heatmaps along the promoter and token importance."""
    from tfvocab.evaluation.interpret import run

    run(model=model, tokens=tokens, normalized=normalized, pairs=pairs, outdir=outdir, promoters=promoters,
        n_pairs=n_pairs, truth=truth, steps=steps, n_plots=n_plots, device=device, seed=seed)
