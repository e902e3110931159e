"""``tfvocab evaluate``: thin click wrapper around :func:`tfvocab.evaluate.run`."""
from __future__ import annotations

import click

from ..defaults import default


@click.command(name="evaluate")
@click.option("--model", type=click.Path(exists=True, dir_okay=False), required=True, help="model.pt from `tfvocab train`.")
@click.option("--tokens", type=click.Path(exists=True, dir_okay=False), required=True, help="tokens.h5 (same vocabulary as the model).")
@click.option("--normalized", type=click.Path(exists=True, dir_okay=False), required=True, help="normalized.h5.")
@click.option("--pairs", type=click.Path(exists=True, dir_okay=False), required=True, help="pairs.tsv; metrics on split=test, threshold on split=val.")
@click.option("--outdir", type=click.Path(file_okay=False), required=True, help="Output folder (metrics.json, predictions.tsv, pr_curve.png, roc_curve.png).")
@click.option("--promoters", type=click.Path(exists=True, dir_okay=False), default=None,
              help="promoters.tsv: adds metrics per promoter-GC quartile (mean GC of the two genes).")
@click.option("--truth", type=click.Path(exists=True), default=None,
              help="simulate's truth/ folder (or modules.tsv): adds the oracle row (1 if the genes share a true module).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True, help="Where to run the model.")
@click.option("--seed", type=int, default=default("seed"), show_default=True, help="Seed of the trained baselines.")
def cli(model, tokens, normalized, pairs, outdir, promoters, truth, device, seed):
    """Evaluate a model and the baselines on the held-out test genes."""
    from ..evaluate import run

    paths = run(model=model, tokens=tokens, normalized=normalized, pairs=pairs, outdir=outdir,
                promoters=promoters, truth=truth, device=device, seed=seed)
    click.echo(paths["metrics"])
