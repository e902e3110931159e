"""``tfvocab pairs``: thin click wrapper around :func:`tfvocab.pairs.run`."""
from __future__ import annotations

from pathlib import Path

import click

from ..defaults import default


@click.command("pairs", help="Build the labelled, gene-disjoint pair set from a co-expression "
               "list: positives from the list (IDs normalised, self-pairs/duplicates/genes without "
               "promoters dropped), negatives sampled inside each split; writes DIR/pairs.tsv "
               "(gene_a, gene_b, label, split, source) and DIR/pairs.report.json (every count).")
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
              help="Output folder (created); receives pairs.tsv, pairs.tsv.json, pairs.report.json.")
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
@click.option("--neg-ratio", type=float, default=default("neg_ratio"), show_default=True,
              help="Negative pairs sampled per positive pair, within each split.")
@click.option("--negatives", type=click.Choice(["uniform", "degree"]), default=default("negatives"),
              show_default=True, help="Negative sampling: 'uniform' over genes with promoters, or "
              "'degree'-matched to the positives' endpoint degrees (no hub shortcut).")
@click.option("--split", type=click.Choice(["gene", "community", "chromosome"]), default=default("split"),
              show_default=True, help="All gene-disjoint. 'gene': seeded random assignment of genes "
              "(new genes of known co-expression programs); 'community': whole co-expression "
              "communities held out (unseen programs, stricter); 'chromosome': hold out "
              "--test-chrom (and --val-chrom) entirely.")
@click.option("--test-chrom", default=None, metavar="NAME",
              help="Chromosome(s) held out for test with --split chromosome (comma-separated; "
              "Chr5/chr5/5/NC_003076.8 all match).")
@click.option("--val-chrom", default=None, metavar="NAME",
              help="Chromosome(s) held out for validation with --split chromosome.  [default: val "
              "genes grown from the other chromosomes, --val-frac of positives]")
@click.option("--val-frac", type=float, default=0.15, show_default=True,
              help="Fraction (0-1) of positive pairs aimed at the validation split.")
@click.option("--test-frac", type=float, default=0.15, show_default=True,
              help="Fraction (0-1) of positive pairs aimed at the test split (--split gene/"
              "community; with 'gene', genes are drawn in proportion to the square roots of the "
              "pair fractions, so 0.15/0.15 puts 24 % of genes in each of val and test).")
@click.option("--seed", type=int, default=default("seed"), show_default=True,
              help="Seed of the split and the negative sampling.")
def cli(coexpression, layout, id_map, top_n, promoters, outdir, gene_columns, score_column, threshold,
        score_lower_better, neg_ratio, negatives, split, test_chrom, val_chrom, val_frac, test_frac,
        seed):
    from tfvocab.pairs import run

    paths = run(coexpression=coexpression, promoters=promoters, outdir=outdir,
                score_column=score_column, threshold=threshold,
                score_lower_better=score_lower_better, neg_ratio=neg_ratio, negatives=negatives,
                split=split, test_chrom=test_chrom, val_chrom=val_chrom, val_frac=val_frac,
                test_frac=test_frac, seed=seed, gene_columns=gene_columns, id_map=id_map,
                top_n=top_n, layout=layout)
    for name, path in paths.items():
        click.echo(f"{name}\t{path}")
