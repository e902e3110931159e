"""``tfvocab tune``: thin click wrapper around :func:`tfvocab.model.tune.run`."""
from __future__ import annotations

import click

from ..defaults import default


@click.command(name="tune")
@click.option("--tokens", type=click.Path(exists=True, dir_okay=False), required=True, help="tokens.h5 from `tfvocab tokenize`.")
@click.option("--normalized", type=click.Path(exists=True, dir_okay=False), required=True, help="normalized.h5 from `tfvocab normalize`.")
@click.option("--pairs", type=click.Path(exists=True, dir_okay=False), required=True, help="pairs.tsv (trials train on train, are scored on val).")
@click.option("--outdir", type=click.Path(file_okay=False), required=True, help="Output folder (tune.tsv, best_config.json, trials/).")
@click.option("--n-trials", type=int, default=8, show_default=True, help="Random configurations to try.")
@click.option("--epochs", type=int, default=15, show_default=True, help="Maximum epochs per trial.")
@click.option("--patience", type=int, default=4, show_default=True, help="Early-stopping patience per trial (epochs).")
@click.option("--batch-size", type=int, default=None, help="Pairs per batch (default: train's default, 64).")
@click.option("--seed", type=int, default=default("seed"), show_default=True, help="Seed of the search and of every trial.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True, help="Where to train.")
def cli(tokens, normalized, pairs, outdir, n_trials, epochs, patience, batch_size, seed, device):
    """Random search over d_model, layers, heads, dropout, lr, weight decay and input mode on validation AUPRC."""
    from ..model.tune import run

    paths = run(tokens=tokens, normalized=normalized, pairs=pairs, outdir=outdir, n_trials=n_trials,
                epochs=epochs, patience=patience, batch_size=batch_size, seed=seed, device=device)
    click.echo(paths["best_config"])
