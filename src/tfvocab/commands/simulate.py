"""``tfvocab simulate``: thin click wrapper around :func:`tfvocab.simulate.dataset.run`."""
from __future__ import annotations

import click


@click.command(name="simulate")
@click.option("--preset", type=click.Choice(["tiny", "small", "genome", "grammar"]), required=True,
              help="Dataset size: tiny (2 chromosomes, ~150 protein-coding genes, 8 TFs, 3 modules; "
                   "seconds), small (~2,000 genes, 40 TFs, 12 modules; < 1 min), genome (5 TAIR10-length "
                   "chromosomes, 27,000 genes, 300 TFs), grammar (small's size; every module an "
                   "ordered TF pair, with reversed and spaced-out decoy genes; truth/roles.tsv).")
@click.option("--seed", type=int, required=True, help="Random seed; same preset + seed gives byte-identical files.")
@click.option("--outdir", type=click.Path(file_okay=False), required=True, help="Output folder (created).")
@click.option("--n-tfs", type=click.IntRange(min=3), default=None,
              help="Number of TFs (bigWigs), overriding the preset's (tiny 8, small 40, genome 300).")
@click.option("--n-genes", type=click.IntRange(min=1), default=None,
              help="Number of protein-coding genes, overriding the preset's (tiny 150, small 2000, genome 27000).")
@click.option("--tracks", type=click.Choice(["dense", "sparse", "sparse-nocontrol"]), default="dense",
              show_default=True,
              help="Track variant of any preset: dense (background 0.3 coverage per 10 bp bin, input "
                   "0.5); sparse (low-depth libraries: 0.01 and 0.017, ~95% of promoter windows "
                   "exactly 0, peaks as dense); sparse-nocontrol (sparse, no input control written; "
                   "its bias stays in the TF tracks).")
@click.option("--jaspar-motifs", is_flag=True, default=False,
              help="Also write a sampled instance of a real Arabidopsis JASPAR motif (pyjaspar) at every "
                   "binding site in the FASTA (off by default; needs pyjaspar).")
def cli(preset, seed, outdir, n_tfs, n_genes, tracks, jaspar_motifs):
    """Simulate a genome (FASTA), Araport11-style GFF3, DAP-seq-like bigWigs (one per TF plus an
    input control), a co-expression list and the planted truth (truth/) under OUTDIR.

    Coordinates are 0-based half-open; bigWigs hold coverage in 10 bp bins.
    """
    from tfvocab.simulate.dataset import run

    paths = run(preset=preset, seed=seed, outdir=outdir, n_tfs=n_tfs, n_genes=n_genes,
                tracks=tracks, motifs=jaspar_motifs)
    click.echo(str(paths["params"].parent.parent))
