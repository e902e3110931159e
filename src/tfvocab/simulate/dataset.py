"""``tfvocab simulate``: a synthetic Arabidopsis-like dataset with a planted regulatory grammar.

Writes (docs/formats.md, "simulate"): ``genome.fa`` (+``.fai``), ``annotation.gff3``,
``bigwig/<TF>.bw`` + ``bigwig/input.bw`` (not with ``control=False``), ``samplesheet.csv``, ``coexpression.tsv`` and
``truth/`` (``modules.tsv``, ``grammar.json``, ``sites.tsv``, ``roles.tsv``, ``pairs.tsv``,
``params.json``, plus
``tfs.tsv`` - per-TF depth factor, peak sd and quality - and ``bias_regions.tsv`` - the input
control's elevated regions). Non-HDF5 outputs get a ``<file>.json`` provenance sidecar.

The pieces are array functions in :mod:`tfvocab.simulate.genome` (sequence, gene models, GFF3),
:mod:`tfvocab.simulate.grammar` (rules, sites, co-expression) and :mod:`tfvocab.simulate.tracks`
(peaks, control bias, bigWig). Every random draw comes from ``numpy.random.SeedSequence(seed)``
children, so the same preset + seed gives byte-identical files.

``sites.tsv`` columns: ``gene_id, tf, chrom, start, end, offset, module, kind, height``; offsets are
site centres relative to the representative isoform's start codon (``tfvocab.coords``);
genome-wide background sites have ``gene_id`` '.' and an empty offset; ``module`` is '.' for
background sites and the mimicked module for decoys; ``height`` is the peak maximum before the
TF's depth factor (coverage units).

``roles.tsv`` (:func:`tfvocab.simulate.grammar.gene_roles`): one row per gene carrying a module
instance (``role`` member) or a decoy (``role`` decoy; ``kind`` decoy_order = reversed,
decoy_spaced = in order but spaced out, decoy_far, decoy_band), with the instance's TFs, offsets,
spacing and ``window_relation`` (shared / straddle / apart on the default 50 bp grid).
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import coords
from . import genome as sg
from . import grammar as sgr
from . import tracks as st
from ..errors import TfvocabError
from ..io import atomic_path, provenance, write_json, write_sidecar, write_table
from ..log import get_logger, progress, timed
from ..publish import step_outputs

log = get_logger("simulate")

TAIR10_LENGTHS = (30_427_671, 19_698_289, 23_459_830, 18_585_056, 26_975_502)


@dataclass
class SimParams:
    """All simulation parameters (units in the comments). Presets: :data:`PRESETS`."""
    n_chroms: int = 2
    chrom_lengths: tuple | None = None      # bp per chromosome; None: sized to the genes
    n_genes: int = 150                       # protein-coding genes
    n_tfs: int = 8
    n_modules: int = 3
    module_size: tuple = (10, 14)            # genes per module (inclusive range)
    mean_spacing: float = 4500.0             # bp between consecutive gene starts, on average
    ncrna_frac: float = 0.06                 # ncRNA genes per protein-coding gene
    pseudogene_frac: float = 0.04
    isoform_rate: float = 0.2                # fraction of coding genes with a .2 isoform
    gc_intergenic: float = 0.33
    gc_exon: float = 0.42
    n_gap_runs: int = 1                      # runs of N per chromosome (in long intergenic gaps)
    band_width: int = 150                    # bp, module position band
    band_range: tuple = (-1500, -50)         # offsets the bands lie in
    max_span: int = 50                       # bp, first to last TF of a rule
    share_prob: float = 0.6                  # a rule reuses a TF of an earlier rule
    decoy_far: float = 0.5                   # decoy genes per module gene, by kind
    decoy_band: float = 0.5
    decoy_order: float = 0.25
    bg_promoter_rate: float = 0.15           # random sites per (promoter, TF)
    bg_genome_per_mb: float = 40.0           # random genome-wide sites per TF per Mb
    site_width: int = 20                     # bp recorded per site
    peak_height_median: float = 25.0         # coverage at a peak summit (depth 1)
    peak_height_sigma: float = 0.9           # lognormal sigma of peak heights
    peak_sd: tuple = (40.0, 60.0)            # bp, per-TF Gaussian sd range
    bg_rate: float = 0.3                     # background coverage per bin (depth 1)
    depth_sigma: float = 0.6                 # lognormal sigma of per-TF depth factors
    low_quality_frac: float = 0.1            # TFs with weak peaks (x0.15), never in rules
    input_rate: float = 0.5                  # input-control coverage per bin
    input_depth: float = 1.0
    broad_per_mb: float = 2.0                # elevated control domains per Mb
    sticky_per_mb: float = 3.0               # sticky regions per Mb
    sticky_promoter_frac: float = 0.03       # extra sticky regions in this fraction of promoters
    bin_size: int = 10                       # bp per bigWig entry
    withheld: float = 0.3                    # fraction of true pairs left out of coexpression.tsv
    false_pos: float = 0.05                  # fraction of coexpression.tsv that is false
    motifs: bool = False                     # write JASPAR (Arabidopsis) motif instances at sites
    # evaluation settings (sgr.label_settings): both off in every preset
    unlisted_frac: float = 0.0               # module genes absent from coexpression.tsv (all pairs withheld)
    labels_independent: bool = False         # coexpression.tsv gene IDs permuted: labels carry no track signal
    # grammar (the `grammar` preset; the defaults reproduce the other presets' draws exactly)
    rule_sizes: tuple = (2, 3)               # TFs per rule, drawn with probabilities rule_size_p
    rule_size_p: tuple = (0.55, 0.45)
    min_gap: int = 12                        # bp, smallest gap between consecutive TFs of a rule
    decoy_spaced: float = 0.0                # decoy genes per module gene: rule order, gaps widened
    spaced_gap: tuple = (150, 300)           # bp, gap range of decoy_spaced instances
    balanced_windows: bool = False           # instances drawn 1:1 inside one 50 bp window / across
                                             # a window boundary (simulate_grammar._anchor)
    control: bool = True                     # write the input control (bigwig/input.bw, samplesheet
                                             # column); False: none (its bias stays in the TF tracks)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


PRESETS = {
    "tiny": SimParams(),
    "small": SimParams(n_chroms=3, n_genes=2000, n_tfs=40, n_modules=12, module_size=(25, 40)),
    "genome": SimParams(n_chroms=5, chrom_lengths=TAIR10_LENGTHS, n_genes=27_000, n_tfs=300,
                        n_modules=60, module_size=(25, 40), bg_promoter_rate=0.1),
    # order- and spacing-dependent grammar: every module is an ordered TF pair (A then B, 20-40 bp
    # apart, half the instances inside one 50 bp window, half across a window boundary) in its
    # band; per module gene one decoy gene with the pair reversed in the band and one with the
    # pair in order but 150-300 bp apart. Decoys share the members' TFs, so a bag of TFs cannot
    # tell them apart; only order and spacing can.
    "grammar": SimParams(n_chroms=3, n_genes=2000, n_tfs=40, n_modules=12, module_size=(25, 40),
                         rule_sizes=(2,), rule_size_p=(1.0,), min_gap=20, max_span=40,
                         decoy_far=0.0, decoy_band=0.0, decoy_order=1.0, decoy_spaced=1.0,
                         balanced_windows=True),
}

#: track variants, applied to any preset (``tfvocab simulate --tracks``): ``dense`` = the presets
#: as they are (background 0.3 per 10 bp bin: ~20 % of promoter windows exactly 0); ``sparse`` =
#: low-depth libraries: TF and input background 30x lower (0.01 / 0.017 per bin), so ~95 % of the
#: promoter windows of a median-depth track are exactly 0 (82-99 % over the depth range), peaks as
#: before; ``sparse-nocontrol``: the same without an input control (the bias stays in the tracks)
TRACKS = {
    "dense": {},
    "sparse": {"bg_rate": 0.01, "input_rate": 0.5 / 30},
    "sparse-nocontrol": {"bg_rate": 0.01, "input_rate": 0.5 / 30, "control": False},
}


def resolve_params(preset: str, n_tfs: int | None = None, n_genes: int | None = None,
                   tracks: str = "dense", **overrides) -> SimParams:
    """The preset's parameters with the ``tracks`` variant (:data:`TRACKS`) and CLI overrides
    applied (validated)."""
    if preset not in PRESETS:
        raise TfvocabError(f"unknown preset {preset!r}", hint=f"choose one of {', '.join(PRESETS)}")
    if tracks not in TRACKS:
        raise TfvocabError(f"unknown track variant {tracks!r}", hint=f"choose one of {', '.join(TRACKS)}")
    p = dataclasses.replace(PRESETS[preset], **{**TRACKS[tracks], **overrides})
    if n_tfs is not None:
        p.n_tfs = int(n_tfs)
    if n_genes is not None:
        p.n_genes = int(n_genes)
    if p.n_tfs < 3:
        raise TfvocabError(f"--n-tfs {p.n_tfs} is too small", hint="need at least 3 TFs")
    if p.n_genes < 10 * p.n_chroms:
        raise TfvocabError(f"--n-genes {p.n_genes} is too small",
                           hint=f"need at least {10 * p.n_chroms} for {p.n_chroms} chromosomes")
    if not 0 <= p.withheld < 1 or not 0 <= p.false_pos < 1 or not 0 <= p.unlisted_frac < 1:
        raise TfvocabError("withheld, false_pos and unlisted_frac must be fractions in [0, 1)")
    return p


def _split(total: int, weights) -> np.ndarray:
    """Integer split of ``total`` proportional to ``weights`` (largest remainder)."""
    w = np.asarray(weights, dtype=float) / np.sum(weights)
    raw = total * w
    out = np.floor(raw).astype(int)
    out[np.argsort(-(raw - out), kind="stable")[: total - out.sum()]] += 1
    return out


def build_genes(rng: np.random.Generator, p: SimParams) -> tuple[list, dict]:
    """Lay out all chromosomes: (list of Gene in genome order, {chrom: length})."""
    weights = p.chrom_lengths if p.chrom_lengths else np.ones(p.n_chroms)
    per = _split(p.n_genes, weights)
    genes, chroms = [], {}
    for i, n in enumerate(per):
        length = p.chrom_lengths[i] if p.chrom_lengths else None
        gs, ln = sg.layout_chromosome(rng, i + 1, int(n), max(1, round(p.ncrna_frac * n)),
                                      max(1, round(p.pseudogene_frac * n)), p.mean_spacing,
                                      p.isoform_rate, length=length)
        genes += gs
        chroms[f"Chr{i + 1}"] = ln
    return genes, chroms


def build_sequence(rng: np.random.Generator, genes: list, chroms: dict, p: SimParams) -> dict:
    """{chrom: uint8 ASCII array}: AT-rich intergenic sequence, GC-richer exons, ATG/stop
    codons painted at every CDS, and ``n_gap_runs`` runs of N in the longest intergenic gaps."""
    seqs = {c: sg.random_sequence(rng, n, p.gc_intergenic) for c, n in chroms.items()}
    for g in genes:
        for t in g.transcripts:
            for a, b in t.exons:
                s, e = sg.local_to_genomic(g, a, b)
                seqs[g.chrom][s:e] = sg.random_sequence(rng, e - s, p.gc_exon)
    sg.paint_codons(seqs, genes)
    by_chrom: dict = {}
    for g in genes:
        by_chrom.setdefault(g.chrom, []).append(g)
    for c, gs in by_chrom.items():
        gaps = [(gs[i + 1].start - gs[i].end, gs[i].end, gs[i + 1].start) for i in range(len(gs) - 1)]
        for size, a, b in sorted(gaps, reverse=True)[: p.n_gap_runs]:
            if size >= 6000:                 # > 2.5 kb from both neighbours: no promoter touches it
                mid = (a + b) // 2
                seqs[c][mid - 100: mid + 100] = ord("N")
    return seqs


def write_fasta(path: Path, seqs: dict) -> Path:
    """Write ``genome.fa`` atomically and index it with pyfaidx (``genome.fa.fai``)."""
    import pyfaidx

    fai = Path(f"{path}.fai")
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            for c, s in seqs.items():
                fh.write(sg.fasta_bytes(c, s))
        pyfaidx.Faidx(str(tmp)).close()
        with atomic_path(fai) as tmp_fai:
            os.replace(f"{tmp}.fai", tmp_fai)
    return fai


def write_gff(path: Path, genes: list, chroms: dict) -> None:
    """Write ``annotation.gff3`` (Araport11 style, genes in genome order)."""
    lines = ["##gff-version 3"]
    lines += [f"##sequence-region {c} 1 {n}" for c, n in chroms.items()]
    for c, n in chroms.items():
        lines.append(f"{c}\tAraport11\tchromosome\t1\t{n}\t.\t.\t.\tID={c};Name={c}")
        for g in genes:
            if g.chrom == c:
                lines += sg.gff_lines(g)
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def plant_sites(rng: np.random.Generator, gtab: pd.DataFrame, chroms: dict, tfs: list[str],
                rules: list[dict], modules: pd.DataFrame, tf_info: pd.DataFrame,
                p: SimParams) -> pd.DataFrame:
    """All planted sites (``sgr.SITE_COLUMNS``), sorted by chrom, start, tf, kind."""
    coding = gtab[gtab.kind == "protein_coding"]
    in_module = set(modules.gene_id)
    pool = coding.loc[~coding.clipped & ~coding.gene_id.isin(in_module), "gene_id"].to_numpy()
    gram = sgr.grammar_sites(rng, rules, modules, pool, p.decoy_far, p.decoy_band, p.decoy_order,
                             p.decoy_spaced, tuple(p.spaced_gap), p.balanced_windows)
    bg = sgr.background_promoter_sites(rng, coding.gene_id.to_numpy(), tfs, p.bg_promoter_rate)
    anchored = sgr.to_genomic(pd.concat([gram, bg], ignore_index=True), coding, p.site_width)
    lens = anchored.chrom.map(chroms)
    anchored = anchored[(anchored.start >= 0) & (anchored.end <= lens)]
    wide = sgr.genome_background_sites(rng, chroms, tfs, p.bg_genome_per_mb, p.site_width)
    sites = pd.concat([anchored, wide], ignore_index=True)
    quality = tf_info.set_index("tf").loc[sites.tf, "quality"].to_numpy()
    h = rng.lognormal(np.log(p.peak_height_median), p.peak_height_sigma, size=len(sites)) * quality
    sites["height"] = np.round(h, 3)
    sites["offset"] = sites.offset.astype("Int64")
    sites["start"] = sites.start.astype(np.int64)
    sites["end"] = sites.end.astype(np.int64)
    chrom_order = {c: i for i, c in enumerate(chroms)}
    sites = sites.assign(_c=sites.chrom.map(chrom_order)).sort_values(
        ["_c", "start", "tf", "kind", "gene_id"], kind="stable").drop(columns="_c")
    return sites[sgr.SITE_COLUMNS].reset_index(drop=True)


def run(preset: str = "tiny", seed: int = 0, outdir: str | os.PathLike = ".",
        n_tfs: int | None = None, n_genes: int | None = None, tracks: str = "dense",
        **overrides) -> dict[str, Path]:
    """Simulate a dataset into ``outdir``; returns {name: path} of everything written.

    ``tracks``: a variant of :data:`TRACKS` (``sparse``: ~95 % of windows 0); ``overrides``: any
    :class:`SimParams` field (e.g. ``withheld=0.5``).
    """
    p = resolve_params(preset, n_tfs=n_tfs, n_genes=n_genes, tracks=tracks, **overrides)
    params = {"preset": preset, "seed": int(seed), "tracks": tracks, **p.to_dict()}
    final = Path(outdir)
    with step_outputs(final, "simulate", params) as staged:
        paths = _simulate(p, preset, int(seed), params, staged.staging)
    return {k: final / v.relative_to(staged.staging) for k, v in paths.items()}


def _simulate(p: SimParams, preset: str, seed: int, params: dict, out: Path) -> dict[str, Path]:
    """Write every simulate output under ``out``; returns {name: path}."""
    prov = provenance("simulate", params)
    r_genes, r_seq, r_gram, r_sites, r_tracks, r_coexp = (
        np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(6))
    paths: dict[str, Path] = {}

    with timed(f"simulate {preset}: gene models ({p.n_genes} protein-coding genes)", log):
        genes, chroms = build_genes(r_genes, p)
        gtab = sg.gene_table(genes)
        ps, pe = coords.promoter_interval(gtab.start_codon.to_numpy(), gtab.strand.to_numpy())
        gtab["clipped"] = (gtab.kind == "protein_coding") & ((ps < 0) | (pe > gtab.chrom.map(chroms)))
    paths["annotation"] = out / "annotation.gff3"
    write_gff(paths["annotation"], genes, chroms)
    write_sidecar(paths["annotation"], prov)

    with timed("grammar and binding sites", log):
        tfs = sgr.tf_names(p.n_tfs)
        n_low = int(round(p.low_quality_frac * p.n_tfs)) if p.n_tfs > 4 else 0
        low = np.zeros(p.n_tfs, dtype=bool)
        low[r_gram.choice(p.n_tfs, size=n_low, replace=False)] = True
        tf_info = pd.DataFrame({
            "tf": tfs,
            "depth": np.round(np.exp(r_gram.normal(0, p.depth_sigma, size=p.n_tfs)).clip(0.25, 4), 4),
            "peak_sd": np.round(r_gram.uniform(*p.peak_sd, size=p.n_tfs), 2),
            "quality": np.where(low, 0.15, 1.0)})
        rules = sgr.make_grammar(r_gram, tfs, p.n_modules, ~low, p.band_width, p.band_range,
                                 p.max_span, p.share_prob, tuple(p.rule_sizes),
                                 tuple(p.rule_size_p), p.min_gap)
        coding = gtab[gtab.kind == "protein_coding"]
        cand = coding.loc[~coding.clipped, "gene_id"].to_numpy()
        modules = sgr.assign_modules(r_gram, cand, rules, p.module_size)
        for r in rules:
            r["n_genes"] = int((modules.module == r["module"]).sum())
        sites = plant_sites(r_sites, gtab, chroms, tfs, rules, modules, tf_info, p)
        tf_info["n_sites"] = sites.tf.value_counts().reindex(tfs).fillna(0).astype(int).to_numpy()

    with timed("genome sequence", log):
        seqs = build_sequence(r_seq, genes, chroms, p)
        if p.motifs:
            pfms = sgr.jaspar_pfms(r_seq, tfs)
            tf_info["motif"] = [pfms[t][0] for t in tfs]
            tf_info["motif_name"] = [pfms[t][1] for t in tfs]
            sgr.plant_motifs(r_seq, seqs, sites, {t: v[2] for t, v in pfms.items()})
            sg.paint_codons(seqs, genes)             # motifs never overwrite start/stop codons
        paths["genome"] = out / "genome.fa"
        paths["fai"] = write_fasta(paths["genome"], seqs)
        write_sidecar(paths["genome"], prov)
        del seqs

    with timed(f"bigWig tracks ({p.n_tfs} TFs + input)", log):
        prom = coding.assign(pos=coding.start_codon + np.where(coding.strand == "-", -1, 1) *
                             r_tracks.integers(-1500, 0, size=len(coding)))
        prom = prom[(prom.pos > 0) & (prom.pos < prom.chrom.map(chroms))]
        regions = st.bias_regions(r_tracks, chroms, p.broad_per_mb, p.sticky_per_mb,
                                  prom[["chrom", "pos"]], p.sticky_promoter_frac)
        bias = {c: st.bias_track(n, regions[regions.chrom == c], p.bin_size) for c, n in chroms.items()}
        bwdir = out / "bigwig"
        bwdir.mkdir(exist_ok=True)
        track_seeds = np.random.SeedSequence([int(seed), 7]).spawn(p.n_tfs + 1)
        rng_in = np.random.default_rng(track_seeds[-1])
        if p.control:
            paths["input_bw"] = bwdir / "input.bw"
            with atomic_path(paths["input_bw"]) as tmp:
                st.write_bigwig(tmp, chroms, ((c, st.coverage(rng_in, p.input_depth * p.input_rate * bias[c]))
                                              for c in chroms), p.bin_size)
            write_sidecar(paths["input_bw"], prov)
        by_tf = {t: d for t, d in sites.groupby("tf", sort=False)}
        for i, row in enumerate(progress(list(tf_info.itertuples(index=False)), "bigWigs", unit="TF")):
            rng_t = np.random.default_rng(track_seeds[i])
            ts = by_tf.get(row.tf, sites.iloc[:0])

            def tracks(ts=ts, row=row, rng_t=rng_t):
                for c, n in chroms.items():
                    s = ts[ts.chrom == c]
                    centre = (s.start.to_numpy() + s.end.to_numpy()) / 2.0
                    peaks = st.peak_track(n, centre, s.height.to_numpy(), row.peak_sd, p.bin_size)
                    yield c, st.coverage(rng_t, row.depth * (p.bg_rate * bias[c] + peaks))

            with atomic_path(bwdir / f"{row.tf}.bw") as tmp:
                st.write_bigwig(tmp, chroms, tracks(), p.bin_size)
            write_sidecar(bwdir / f"{row.tf}.bw", prov)
        paths["bigwig"] = bwdir

    sheet = pd.DataFrame({"tf": tfs, "bigwig": [f"bigwig/{t}.bw" for t in tfs]})
    if p.control:
        sheet["control"] = "bigwig/input.bw"
    paths["samplesheet"] = write_table(out / "samplesheet.csv", sheet, prov, sep=",")

    with timed("co-expression list", log):
        truth = sgr.true_pairs(modules)
        observed = sgr.observed_pairs(r_coexp, truth, coding.gene_id.to_numpy(), p.withheld, p.false_pos)
        if p.unlisted_frac or p.labels_independent:     # own generator: the defaults stay byte-identical
            observed = sgr.label_settings(np.random.default_rng([int(seed), 41]), observed, modules,
                                          coding.gene_id.to_numpy(), p.unlisted_frac, p.labels_independent)
        paths["coexpression"] = write_table(out / "coexpression.tsv", observed, prov)

    tdir = out / "truth"
    paths["modules"] = write_table(tdir / "modules.tsv", modules, prov)
    paths["pairs"] = write_table(tdir / "pairs.tsv", truth, prov)
    paths["sites"] = write_table(tdir / "sites.tsv", sites, prov)
    paths["roles"] = write_table(tdir / "roles.tsv", sgr.gene_roles(sites[sites.gene_id != "."]), prov)
    paths["tfs"] = write_table(tdir / "tfs.tsv", tf_info, prov)
    paths["bias_regions"] = write_table(tdir / "bias_regions.tsv", regions, prov)
    paths["grammar"] = write_json(tdir / "grammar.json", {
        "modules": rules, "tfs": tfs, "offset_reference": "start codon of the representative isoform",
        "notes": {"spacing": "offset of each TF's site centre relative to the first TF's, 5'->3' "
                             "in gene orientation", "band": "offsets [b0, b1) holding every site "
                             "of a module instance", "sites": "truth/sites.tsv"},
        "site_width": p.site_width, "max_span": p.max_span, "band_width": p.band_width,
        "decoy_rates": {"decoy_far": p.decoy_far, "decoy_band": p.decoy_band,
                        "decoy_order": p.decoy_order, "decoy_spaced": p.decoy_spaced},
        "roles": "truth/roles.tsv", "tfvocab_provenance": prov})
    summary = {"chromosomes": chroms,
               "genes": gtab.kind.value_counts().sort_index().to_dict(),
               "clipped_genes": gtab.loc[gtab.clipped, "gene_id"].tolist(),
               "multi_isoform_genes": int((gtab.n_isoforms > 1).sum()),
               "module_genes": int(len(modules)), "true_pairs": int(len(truth)),
               "observed_pairs": int(len(observed)),
               "sites_by_kind": sites.kind.value_counts().sort_index().to_dict()}
    paths["params"] = write_json(tdir / "params.json", {**params, "summary": summary,
                                                        "tfvocab_provenance": prov})
    log.info("simulated %d genes on %d chromosomes (%.1f Mb), %d TFs, %d modules, %d true pairs -> %s",
             len(gtab), len(chroms), sum(chroms.values()) / 1e6, p.n_tfs, len(rules), len(truth), out)
    return paths


def planted_windows(sites: pd.DataFrame, bias: pd.DataFrame, chrom: np.ndarray,
                    start_codon: np.ndarray, strand: np.ndarray, window_start: np.ndarray,
                    width: int, tfs: list[str], reach_bp: int = 250) -> tuple[np.ndarray, np.ndarray]:
    """Windows near the planted truth, for scoring a normalisation against it.

    ``sites``: ``truth/sites.tsv`` (chrom, start, end, tf); ``bias``: ``truth/bias_regions.tsv``
    (chrom, start, end); the promoters' ``chrom``, ``start_codon``, ``strand`` (G,) and the
    window geometry (``window_start`` (W,) offsets, ``width`` bp). Returns ``near`` bool
    (G, W, T): a site of TF t (``tfs`` order) has its centre within ``reach_bp`` of the window
    (peaks reach ~4 sd = 160-240 bp), and ``biased`` bool (G, W): the window overlaps an
    elevated input-bias region (broad or sticky)."""
    st, en = coords.window_intervals(start_codon, strand, np.asarray(window_start), int(width))
    G, W = st.shape
    lo, hi = st.min(axis=1), en.max(axis=1)               # promoter span (genomic)
    near = np.zeros((G, W, len(tfs)), bool)
    biased = np.zeros((G, W), bool)
    tix = {t: i for i, t in enumerate(tfs)}
    chrom = np.asarray(chrom).astype(str)
    for c in np.unique(chrom):
        gi = np.flatnonzero(chrom == c)
        s = sites[(sites.chrom == c) & sites.tf.isin(tix)]
        cen = ((s.start.to_numpy() + s.end.to_numpy()) // 2)
        order = np.argsort(cen, kind="stable")
        cen, ti = cen[order], s.tf.map(tix).to_numpy()[order]
        a = np.searchsorted(cen, lo[gi] - reach_bp)
        b = np.searchsorted(cen, hi[gi] + reach_bp)
        g = np.repeat(gi, b - a)                                        # (gene, site) pairs
        k = np.concatenate([np.arange(x, y) for x, y in zip(a, b)]) if len(gi) else np.zeros(0, int)
        for w in range(W):
            hit = (cen[k] >= st[g, w] - reach_bp) & (cen[k] < en[g, w] + reach_bp)
            near[g[hit], w, ti[k[hit]]] = True
        r = bias[bias.chrom == c]
        for s0, e0 in zip(r.start.to_numpy(), r.end.to_numpy()):
            biased[gi] |= (st[gi] < e0) & (en[gi] > s0)
    return near, biased
