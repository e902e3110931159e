"""``tfvocab extract``: thin click wrapper around :func:`tfvocab.extract.run`."""
from __future__ import annotations

from pathlib import Path

import click

from ..defaults import default


@click.command("extract", help="Mean and max bigWig signal over promoter windows (default 50 bp "
               "every 50 bp, -2000..+500 bp around the start codon, 5'->3' in gene orientation). "
               "Bases without data count as 0 (deepTools --missingDataAsZero); windows on "
               "chromosomes absent from the bigWig or off the chromosome are NaN + mask. Writes "
               "DIR/signal.<tf>.h5 per bigWig.")
@click.option("--promoters", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="promoters.tsv from `tfvocab promoters`.")
@click.option("--bigwig", "bigwig", required=True, multiple=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="DAP-seq bigWig (repeatable); one output file per bigWig.")
@click.option("--outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (created); receives signal.<tf>.h5.")
@click.option("--tf", "tf", multiple=True,
              help="TF name per --bigwig, in the same order (repeatable) [default: bigWig file stem].")
@click.option("--window", type=click.IntRange(min=1), default=default("window"), show_default=True,
              help="Window width (bp).")
@click.option("--stride", type=click.IntRange(min=1), default=default("stride"), show_default=True,
              help="Distance between window starts (bp).")
@click.option("--chrom-alias", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="TSV (name, alias) of equivalent chromosome names, for names that are not "
              "recognised automatically (Chr1 / chr1 / 1 / NC_003070.9 are).")
@click.option("--reader", type=click.Choice(["native", "pybigtools", "pybigwig"]), default="native",
              show_default=True, help="bigWig decoder: 'native' (tfvocab's numpy/zlib reader of the "
              "records, fastest) or the pybigtools / pyBigWig libraries (slower; identical values).")
@click.option("--mask-uncovered", is_flag=True,
              help="Also mask windows with no bigWig data at all [default: they are real zeros, "
              "uncovered = unbound for DAP-seq].")
@click.option("--jobs", type=click.IntRange(min=0), default=0, show_default=True,
              help="bigWigs processed at once in worker processes; 0 = the CPUs this process may "
              "use (capped at the number of bigWigs). Memory ~ jobs x (20 bytes x records of the "
              "largest chromosome + 9 bytes x promoters x windows); outputs are identical for any value.")
def cli(promoters, bigwig, outdir, tf, window, stride, chrom_alias, reader, mask_uncovered, jobs):
    from tfvocab.extract import available_cpus, run

    if jobs == 0:
        jobs = max(1, min(available_cpus(), len(bigwig)))
    paths = run(promoters=promoters, bigwig=list(bigwig), outdir=outdir, tf=list(tf) or None,
                window=window, stride=stride, chrom_alias=chrom_alias, reader=reader,
                mask_uncovered=mask_uncovered, jobs=jobs)
    for name, path in paths.items():
        click.echo(f"{name}\t{path}")
