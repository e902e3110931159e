"""``tfvocab evaluate``: thin click wrapper around :func:`tfvocab.evaluation.evaluate.run`."""
from __future__ import annotations

import click

from ..defaults import default


@click.command(name="evaluate")
@click.option("--model", type=click.Path(exists=True, dir_okay=False), required=True,
              help="model.pt from `tfvocab train --fold k`: evaluated on fold k's held-out genes.")
@click.option("--tokens", type=click.Path(exists=True, dir_okay=False), required=True, help="tokens.h5 (same vocabulary as the model).")
@click.option("--normalized", type=click.Path(exists=True, dir_okay=False), required=True, help="normalized.h5.")
@click.option("--pairs", type=click.Path(exists=True, dir_okay=False), required=True, help="pairs.tsv from `tfvocab pairs` (the listed pairs).")
@click.option("--genes", type=click.Path(exists=True, dir_okay=False), default=None,
              help="genes.tsv from `tfvocab pairs` (the folds).  [default: genes.tsv next to --pairs]")
@click.option("--outdir", type=click.Path(file_okay=False), required=True,
              help="Output folder (metrics.json, top_pairs.tsv, pr_curve.png, roc_curve.png).")
@click.option("--promoters", type=click.Path(exists=True, dir_okay=False), default=None,
              help="promoters.tsv: adds metrics per promoter-GC quartile (mean GC of the two genes).")
@click.option("--truth", type=click.Path(exists=True), default=None,
              help="simulate's truth/ folder (or modules.tsv): scores the same universe against the planted truth and adds the oracle.")
@click.option("--control-model", type=click.Path(exists=True, dir_okay=False), default=None,
              help="model.pt of the same fold trained with `--shuffle-labels` (the shuffled-label control).")
@click.option("--n-boot", type=click.IntRange(20, 100000), default=200, show_default=True,
              help="Gene-bootstrap resamples of the test genes (95% intervals).")
@click.option("--n-perm", type=click.IntRange(0, 100000), default=200, show_default=True,
              help="Label permutations of the null control.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True, help="Where to run the model.")
@click.option("--seed", type=int, default=default("seed"), show_default=True, help="Seed of the trained baselines, bootstrap and permutations.")
def cli(model, tokens, normalized, pairs, genes, outdir, promoters, truth, control_model, n_boot, n_perm, device, seed):
    """Score every pair among the model's held-out genes with the model and the baselines."""
    from ..evaluation.evaluate import run

    paths = run(model=model, tokens=tokens, normalized=normalized, pairs=pairs, genes=genes, outdir=outdir,
                promoters=promoters, truth=truth, control_model=control_model, n_boot=n_boot, n_perm=n_perm,
                device=device, seed=seed)
    click.echo(paths["metrics"])
