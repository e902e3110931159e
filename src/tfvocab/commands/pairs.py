"""``tfvocab pairs``: thin click wrapper around :func:`tfvocab.data.pairs.run`."""
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
@click.option("--coexpression", required=True, type=click.Path(exists=True, path_type=Path),
              help="Co-expression: an edge list (TSV/CSV/whitespace, sniffed, .gz ok, header "
              "optional, '#' comments; one pair per line, e.g. 'Gene1 Gene2 MR'), an ATTED-II / "
              "COXPRESdb download (a folder or .zip of one file per gene named by Entrez Gene ID: "
              "partner ID + z-score, or older 'EntrezID MR PCC'), or a square genes x genes matrix. "
              "See docs/inputs.md.")
@click.option("--coexpression-layout", "layout", type=click.Choice(["auto", "edges", "partners", "matrix"]),
              default="auto", show_default=True,
              help="How --coexpression is laid out; 'auto': a folder or .zip is per-gene partner "
              "lists, a table whose first row is >= 3 gene IDs is a matrix, anything else an edge list.")
@click.option("--id-map", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Two-column table mapping the co-expression IDs to the promoters' gene IDs, e.g. "
              "Entrez Gene ID -> AGI (header optional). Rows with an unmapped ID are dropped and "
              "counted in pairs.report.json.")
@click.option("--top-n", type=click.IntRange(min=1), default=None,
              help="Keep each gene's N best partners (after --id-map; with --threshold, the N best "
              "of those passing it). A pair is kept when either gene lists it.  [default: all]")
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
              "column's units (ATTED-II z-score: higher is better; MR: lower).  [default: keep "
              "all; per-gene folders and matrices need --threshold or --top-n]")
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
              help="Seed of the fold assignment.")
def cli(coexpression, layout, id_map, top_n, promoters, outdir, gene_columns, score_column, threshold,
        score_lower_better, folds, split, test_chrom, val_frac, seed):
    from tfvocab.data.pairs import run

    paths = run(coexpression=coexpression, promoters=promoters, outdir=outdir,
                score_column=score_column, threshold=threshold,
                score_lower_better=score_lower_better, split=split, folds=folds,
                test_chrom=test_chrom, val_frac=val_frac, seed=seed, gene_columns=gene_columns,
                id_map=id_map, top_n=top_n, layout=layout)
    for name, path in paths.items():
        click.echo(f"{name}\t{path}")
