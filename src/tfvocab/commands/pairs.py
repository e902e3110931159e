"""``tfvocab pairs``: thin click wrapper around :func:`tfvocab.pairs.run`."""
from __future__ import annotations

from pathlib import Path

import click

from ..defaults import default


@click.command("pairs", help="The listed pairs of a co-expression list and K gene-disjoint folds of "
               "every gene: positives from the list (IDs normalised, self-pairs/duplicates/genes "
               "without promoters dropped); writes DIR/pairs.tsv (gene_a, gene_b, label, source, "
               "split), DIR/genes.tsv (gene_id, chrom, fold, val_fold, degree) and "
               "DIR/pairs.report.json (every count, per fold). No negatives: `tfvocab train` "
               "draws them.")
@click.option("--coexpression", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Co-expression list: TSV/CSV/whitespace (sniffed, .gz ok), header optional "
              "(detected), '#' comments; one pair per line, e.g. ATTED-II 'Gene1 Gene2 MR'.")
@click.option("--promoters", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="promoters.tsv from `tfvocab promoters` (gene_id, chrom, ...).")
@click.option("--outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (created); receives pairs.tsv, genes.tsv (+ .json sidecars), pairs.report.json.")
@click.option("--gene-columns", default=None, metavar="A,B",
              help="The two gene columns, by header name or 1-based number.  [default: 1,2]")
@click.option("--score-column", default=None, metavar="NAME",
              help="Score column, by header name or 1-based number.  [default: first other column]")
@click.option("--threshold", type=float, default=None,
              help="Keep pairs with score >= X (<= X with --score-lower-better), in the score "
              "column's units.  [default: keep all]")
@click.option("--score-lower-better/--score-higher-better", default=None,
              help="Whether a lower score is better (ranks, ATTED-II MR).  [default: lower is "
              "better when the score column is named MR/rank, else higher]")
@click.option("--folds", type=click.IntRange(2, None), default=default("folds"), show_default=True,
              help="Gene-disjoint test folds: every gene with a promoter is in exactly one (one model "
              "per fold: `tfvocab train --fold k`).")
@click.option("--split", type=click.Choice(["gene", "community", "chromosome"]), default=default("split"),
              show_default=True, help="How genes are grouped into folds (all gene-disjoint). 'gene': "
              "seeded random deal of genes (new genes of known co-expression programs); 'community': "
              "whole co-expression communities per fold (unseen programs, stricter); 'chromosome': "
              "whole chromosomes per fold (--test-chrom is fold 0).")
@click.option("--test-chrom", default=None, metavar="NAME",
              help="With --split chromosome: the chromosome(s) of fold 0 (comma-separated; "
              "Chr5/chr5/5/NC_003076.8 all match).")
@click.option("--val-frac", type=click.FloatRange(0, 1, max_open=True), default=0.15, show_default=True,
              help="Fraction of the genes outside a fold that validate its model (early stopping, "
              "thresholds); at most 1/(folds-1).")
@click.option("--seed", type=int, default=default("seed"), show_default=True,
              help="Seed of the split and the negative sampling.")
def cli(coexpression, promoters, outdir, gene_columns, score_column, threshold, score_lower_better,
        folds, split, test_chrom, val_frac, seed):
    from tfvocab.pairs import run

    paths = run(coexpression=coexpression, promoters=promoters, outdir=outdir,
                score_column=score_column, threshold=threshold,
                score_lower_better=score_lower_better, split=split, folds=folds,
                test_chrom=test_chrom, val_frac=val_frac, seed=seed, gene_columns=gene_columns)
    for name, path in paths.items():
        click.echo(f"{name}\t{path}")
