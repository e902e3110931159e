"""``tfvocab promoters``: promoters of protein-coding genes from GFF3 + FASTA."""
from __future__ import annotations

import json

import click

from ..defaults import default


@click.command(name="promoters")
@click.option("--gff", required=True, type=click.Path(exists=True, dir_okay=False),
              help="GFF3 annotation (plain or gzipped; NCBI, Araport or Phytozome style).")
@click.option("--fasta", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Genome FASTA (plain or bgzipped); its .fai is built beside it if missing.")
@click.option("--outdir", required=True, type=click.Path(file_okay=False),
              help="Output folder for promoters.tsv/.bed/.fa and promoters.report.json.")
@click.option("--upstream", default=default("upstream"), show_default=True, type=click.IntRange(min=0),
              help="Promoter length upstream of the start codon (bp).")
@click.option("--downstream", default=default("downstream"), show_default=True, type=click.IntRange(min=0),
              help="Promoter length downstream of the start codon (bp).")
@click.option("--chrom-alias", type=click.Path(exists=True, dir_okay=False), default=None,
              help="TSV with two columns (name, alias) declaring chromosome names equivalent; "
                   "default: automatic matching (NC_003070.9 = Chr1 = chr1 = 1).")
@click.option("--bigwig", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="bigWig(s) to check for chromosome-name coverage (repeatable; report only).")
def cli(gff, fasta, outdir, upstream, downstream, chrom_alias, bigwig):
    """Define one promoter (-UPSTREAM..+DOWNSTREAM bp around the start codon of the
    representative isoform) per protein-coding gene. Coordinates are 0-based half-open;
    promoters running off a chromosome end are clipped and flagged."""
    from ..data.promoters import run

    paths = run(gff=gff, fasta=fasta, outdir=outdir, upstream=upstream, downstream=downstream,
                chrom_alias=chrom_alias, bigwig=list(bigwig))
    report = json.loads(paths["report"].read_text())
    keys = ("genes_seen", "protein_coding", "promoters_written", "skipped_non_coding",
            "skipped_pseudogene", "no_cds", "clipped", "dropped_unmapped_chrom")
    click.echo(" ".join(f"{k}={report[k]}" for k in keys))
    mapping = report["chromosome_mapping"]["mapped"]
    click.echo("chromosomes: " + ", ".join(f"{s}->{m['target']} ({m['method']})"
                                           for s, m in mapping.items()))
    for name, path in paths.items():
        click.echo(f"{name}\t{path}")
