"""``tfvocab predict``: score pairs or all-vs-all and write the predicted network."""
from __future__ import annotations

import click

from ..defaults import default


@click.command(name="predict")
@click.option("--model", required=True, type=click.Path(exists=True, dir_okay=False),
              help="model.pt from `tfvocab train`.")
@click.option("--tokens", required=True, type=click.Path(exists=True, dir_okay=False),
              help="tokens.h5 from `tfvocab tokenize` (the model's vocabulary).")
@click.option("--normalized", required=True, type=click.Path(exists=True, dir_okay=False),
              help="normalized.h5 from `tfvocab normalize`.")
@click.option("--outdir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--pairs", type=click.Path(exists=True, dir_okay=False), default=None,
              help="TSV with gene_a, gene_b: score these pairs only (default: all-vs-all).")
@click.option("--genes", type=click.Path(exists=True, dir_okay=False), default=None,
              help="All-vs-all among these genes only (one gene ID per line; default: every gene).")
@click.option("--top-k", type=click.IntRange(min=1), default=default("top_k"), show_default=True,
              help="All-vs-all: best partners kept per gene (network = union of the lists).")
@click.option("--block-size", type=click.IntRange(min=1), default=1024, show_default=True,
              help="All-vs-all: genes per block; memory grows with its square, not with the gene count.")
@click.option("--min-score", type=click.FloatRange(0, 1), default=None,
              help="Keep network edges with probability >= X (0..1) [default: none for all-vs-all, "
                   "0.5 for --pairs].")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="auto = GPU when present.")
@click.option("--seed", type=int, default=default("seed"), show_default=True,
              help="Seed of the community detection and betweenness sampling.")
def cli(model, tokens, normalized, outdir, pairs, genes, top_k, block_size, min_score, device, seed):
    """Embed every gene once, score pairs (or all pairs blockwise, keeping the top-k per gene),
    and write predicted_pairs.tsv, network.graphml, modules.tsv and hubs.tsv."""
    from tfvocab.evaluation.predict import run

    run(model=model, tokens=tokens, normalized=normalized, outdir=outdir, pairs=pairs, genes=genes,
        top_k=top_k, block_size=block_size, min_score=min_score, device=device, seed=seed)
