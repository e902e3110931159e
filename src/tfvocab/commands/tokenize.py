"""``tfvocab tokenize``: thin click wrapper around :func:`tfvocab.data.tokens.run`."""
from __future__ import annotations

from pathlib import Path

import click

from ..defaults import default


@click.command("tokenize", help="Learn the TF vocabulary (seeded k-means over the T-dim window "
               "vectors of normalized.h5) and tokenize every promoter window; writes "
               "DIR/tokens.h5, DIR/vocabulary.tsv and DIR/vocabulary.png. Token 0 = missing "
               "window, 1 = no binding, 2.. = learned tokens by decreasing frequency.")
@click.option("--normalized", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="normalized.h5 from `tfvocab normalize`.")
@click.option("--outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (created).")
@click.option("--vocab-size", type=int, default=default("vocab_size"), show_default=True,
              help="Number of learned tokens (k-means clusters, >= 2); the mask and no-binding "
              "tokens come on top. Clamped, with a warning, to the number of distinct bound "
              "windows.")
@click.option("--seed", type=int, default=default("seed"), show_default=True, help="RNG seed (subsample, init).")
@click.option("--codebook", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Apply the vocabulary of an existing tokens.h5 instead of fitting one.")
@click.option("--null-threshold", type=float, default=None,
              help="A window is 'no binding' when every observed TF is below this many robust "
              "SDs (1.4826 x MAD) above the TF's median window (normalised units). "
              "[default: Phi^-1(1 - 0.05/T) for T TFs: 3.0 at 40 TFs, 3.6 at 300]")
@click.option("--max-fit-windows", type=int, default=100_000, show_default=True,
              help="k-means is fitted on a seeded uniform subsample of at most this many bound "
              "windows; every window is then assigned.")
def cli(normalized, outdir, vocab_size, seed, codebook, null_threshold, max_fit_windows):
    from tfvocab.data.tokens import run

    paths = run(normalized=normalized, outdir=outdir, vocab_size=vocab_size, seed=seed,
                codebook=codebook, null_threshold=null_threshold,
                max_fit_windows=max_fit_windows)
    for name, path in paths.items():
        click.echo(f"{name}\t{path}")
