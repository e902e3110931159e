"""``tfvocab extract``: thin click wrapper around :func:`tfvocab.data.extract.run`."""
from __future__ import annotations

from pathlib import Path

import click

from ..defaults import default


@click.command("extract", help="Mean and max bigWig (or peak) signal over promoter windows (default 50 bp "
               "every 50 bp, -2000..+500 bp around the start codon, 5'->3' in gene orientation). "
               "Bases without data count as 0 (deepTools --missingDataAsZero); windows on "
               "chromosomes absent from the bigWig or off the chromosome are NaN + mask. Writes "
               "DIR/signal.<tf>.h5 per track.")
@click.option("--promoters", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="promoters.tsv from `tfvocab promoters`.")
@click.option("--bigwig", "bigwig", multiple=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="DAP-seq bigWig (repeatable); one output file per bigWig.")
@click.option("--peaks", "peaks", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="DAP-seq peak calls instead of a bigWig (repeatable): narrowPeak, broadPeak or BED, "
              ".gz ok; each peak's signalValue (BED: score) over its interval, 0 elsewhere.")
@click.option("--samplesheet", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Extract every track of a samplesheet (tf,bigwig|peaks,control) in one call: each "
              "TF's bigWig or peaks file and each distinct control (instead of --bigwig/--peaks).")
@click.option("--outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (created); receives signal.<tf>.h5.")
@click.option("--tf", "tf", multiple=True,
              help="TF name per track (repeatable): the --bigwig files first, then the --peaks files, "
              "in the order given  [default: file stem].")
@click.option("--peak-value", type=click.Choice(["auto", "signal", "score", "pvalue", "one"]),
              default="auto", show_default=True,
              help="Value a peak contributes over its interval: 'auto' = signalValue (narrowPeak/"
              "broadPeak) or the BED score (1 when constant or absent); 'one' = presence.")
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
def cli(promoters, bigwig, peaks, samplesheet, outdir, tf, peak_value, window, stride, chrom_alias,
        reader, mask_uncovered, jobs):
    from tfvocab.data.extract import available_cpus, run

    if jobs == 0:
        n = len(bigwig) + len(peaks)
        jobs = available_cpus() if samplesheet else max(1, min(available_cpus(), n))
    paths = run(promoters=promoters, bigwig=list(bigwig), outdir=outdir, tf=list(tf) or None,
                window=window, stride=stride, chrom_alias=chrom_alias, reader=reader,
                mask_uncovered=mask_uncovered, jobs=jobs, peaks=list(peaks),
                samplesheet=samplesheet, peak_value=peak_value)
    for name, path in paths.items():
        click.echo(f"{name}\t{path}")
