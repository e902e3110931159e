#!/usr/bin/env python
"""Benchmark ``tfvocab extract`` against deepTools ``computeMatrix`` and a naive per-promoter loop.

Builds (or reuses, ``--workdir``) a genome-scale dataset with the project's own simulator
(``tfvocab simulate --preset genome --n-tfs 20``: 5 chromosomes of TAIR10 length, 27,000
promoters, DAP-seq-like bigWigs in 10 bp bins) and ``tfvocab promoters``, then in ONE run measures,
each as a separate child process (wall time; peak RSS of the largest process from ``wait4``, and
the sampled peak of the whole process tree, which matters for ``--jobs``/``-p`` workers):

* ``tfvocab extract`` with the default ``native`` reader, 1 job and ``--jobs`` jobs, and with the
  ``pybigtools`` / ``pyBigWig`` readers (``--jobs`` jobs);
* optionally (``--baseline-rev REV``) the extract of an earlier commit of this repository
  (``git archive REV src``), 1 job and ``--jobs`` jobs: before/after in the same run;
* deepTools ``computeMatrix reference-point -b 2000 -a 500 --binSize 50 --missingDataAsZero``
  on the same bigWigs and ALL promoters with the same cores (``-p JOBS``); ``--deeptools-genes N``
  times it on N evenly spaced promoters instead and extrapolates (clearly labelled);
* a naive loop: ``pyBigWig.values`` per promoter per bigWig + numpy per-window means, timed on a
  subset of genes and **extrapolated** to all genes x all bigWigs (clearly labelled);
* extract's peak memory with 5 vs all bigWigs (memory must not grow with the number of TFs);
* ``tfvocab merge`` of the per-TF files (for information).

It also checks exactness: all readers give identical arrays, ``--jobs`` gives byte-identical
files, and extract's means agree with computeMatrix's matrix (max |difference| over every
unclipped promoter window).

    nice python bench/extract.py --workdir /tmp/bench_extract --baseline-rev 60566ca  # full run
    python bench/extract.py --workdir /tmp/bench_extract_q --quick   # smoke run: small preset

Not part of the test suite.
"""
from __future__ import annotations

import os
import sys

# bench/ holds scripts named like stdlib modules (tokenize.py): keep this folder off sys.path.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import argparse
import gzip
import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

import numpy as np

REPO_SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
# measure this checkout's code, whatever the installed (editable) tfvocab points at
ENV = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
           PYTHONPATH=os.pathsep.join(p for p in (REPO_SRC, os.environ.get("PYTHONPATH")) if p))
TFVOCAB = [sys.executable, "-m", "tfvocab.cli"]


# ------------------------------------------------------------------------------- measurement
def _tree_rss_kb(pid: int) -> int:
    """Current total RSS (kB) of ``pid`` and all its descendants, from /proc."""
    total, stack, seen = 0, [pid], set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def measure(label: str, cmd: list[str], log: Path, env: dict | None = None) -> dict:
    """Run ``cmd``; return wall seconds, peak RSS (MB) of the largest process, sampled tree peak."""
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env or ENV)
        peak = [0]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], _tree_rss_kb(proc.pid))
                time.sleep(0.05)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        _, status, ru = os.wait4(proc.pid, 0)
        done.set()
        th.join()
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{label} failed (exit {code}); see {log}:\n{log.read_text()[-3000:]}")
    res = {"label": label, "wall_s": wall, "maxrss_mb": ru.ru_maxrss / 1024, "tree_peak_mb": peak[0] / 1024}
    print(f"  {label:<58s} {wall:9.1f} s  {res['maxrss_mb']:8.0f} MB  {res['tree_peak_mb']:8.0f} MB",
          flush=True)
    return res


# ------------------------------------------------------------------------------- dataset
def build(workdir: Path, quick: bool, n_tfs: int) -> tuple[Path, list[Path]]:
    sim = workdir / "sim"
    if not (sim / "samplesheet.csv").exists():
        preset = ["--preset", "small"] if quick else ["--preset", "genome"]
        print(f"building dataset: tfvocab simulate {' '.join(preset)} --n-tfs {n_tfs} (once; reused)",
              flush=True)
        t = time.perf_counter()
        subprocess.run([*TFVOCAB, "-q", "simulate", *preset, "--n-tfs", str(n_tfs), "--seed", "0",
                        "--outdir", str(sim)], check=True, env=ENV)
        print(f"  simulate: {time.perf_counter() - t:.0f} s", flush=True)
    prom = workdir / "prom" / "promoters.tsv"
    if not prom.exists():
        subprocess.run([*TFVOCAB, "-q", "promoters", "--gff", str(sim / "annotation.gff3"),
                        "--fasta", str(sim / "genome.fa"), "--outdir", str(prom.parent)], check=True, env=ENV)
    bws = sorted(p for p in (sim / "bigwig").glob("*.bw") if p.stem != "input")
    return prom, bws


NAIVE = r"""
import sys, time, numpy as np, pandas as pd, pyBigWig
prom, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
bws = sys.argv[4:]
df = pd.read_csv(prom, sep="\t", dtype={"chrom": str})
df = df[~df["clipped"].astype(str).str.lower().eq("true")]
df = df.iloc[np.linspace(0, len(df) - 1, n).astype(int)]
t = time.perf_counter()
for path in bws:
    bw = pyBigWig.open(path)
    res = np.empty((len(df), 50))
    for i, r in enumerate(df.itertuples()):
        lo = r.start_codon - 2000 if r.strand == "+" else r.start_codon - 499
        v = np.nan_to_num(bw.values(r.chrom, lo, lo + 2500, numpy=True))
        if r.strand == "-":
            v = v[::-1]
        res[i] = v.reshape(50, 50).mean(1)
    bw.close()
open(out, "w").write(str(time.perf_counter() - t))
"""


def phase_seconds(log: Path) -> dict:
    """Sum extract's per-bigWig 'read X s, windows Y s, total Z s' log lines (CPU-seconds over
    all workers; total includes the HDF5 write)."""
    import re

    tot = {"read": 0.0, "windows": 0.0, "total": 0.0, "n": 0}
    for m in re.finditer(r"read ([0-9.]+) s, windows ([0-9.]+) s, total ([0-9.]+) s", log.read_text()):
        tot["read"] += float(m.group(1))
        tot["windows"] += float(m.group(2))
        tot["total"] += float(m.group(3))
        tot["n"] += 1
    return tot


def baseline_src(rev: str, workdir: Path) -> Path:
    """``src/`` of commit ``rev`` of this repository, exported with ``git archive`` (no checkout)."""
    repo = Path(REPO_SRC).parent
    dest = workdir / f"baseline_{rev}"
    if not (dest / "src" / "tfvocab" / "extract.py").exists():
        dest.mkdir(parents=True, exist_ok=True)
        arch = subprocess.run(["git", "-C", str(repo), "archive", rev, "src"], check=True,
                              capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=arch, check=True)
    return dest / "src"


def same_bytes(a: Path, b: Path) -> bool:
    files = sorted(p.name for p in a.glob("signal.*.h5"))
    return bool(files) and files == sorted(p.name for p in b.glob("signal.*.h5")) and all(
        (a / f).read_bytes() == (b / f).read_bytes() for f in files)


def compare_deeptools(matrix: Path, signal_dir: Path, bws: list[Path]) -> float:
    """Max |extract mean - computeMatrix| over all promoters present in the matrix (unclipped)."""
    import h5py

    sys.path.insert(0, REPO_SRC)
    from tfvocab.io import read_strings

    with gzip.open(matrix, "rt") as fh:
        fh.readline()
        names, vals = [], []
        for line in fh:
            f = line.rstrip("\n").split("\t")
            names.append(f[3])
            vals.append(np.array(f[6:], dtype=float))
    dt = np.stack(vals)
    worst = 0.0
    for j, bw in enumerate(bws):
        with h5py.File(signal_dir / f"signal.{bw.stem}.h5") as h5:
            idx = {g: i for i, g in enumerate(read_strings(h5["genes"]))}
            rows = np.array([idx[g] for g in names])
            mean, mask = h5["mean"][()][rows], h5["mask"][()][rows]
        ref = dt[:, 50 * j:50 * (j + 1)]
        ok = ~mask
        worst = max(worst, float(np.nanmax(np.abs(mean[ok] - ref[ok]))))
    return worst


def same_files(a: Path, b: Path) -> bool:
    import h5py

    for f in sorted(a.glob("signal.*.h5")):
        with h5py.File(f) as x, h5py.File(b / f.name) as y:
            for d in ("mean", "max", "mask"):
                if not np.array_equal(x[d][()], y[d][()], equal_nan=True):
                    return False
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/tfvocab_bench_extract"),
                    help="dataset + outputs folder (dataset reused when present)")
    ap.add_argument("--quick", action="store_true", help="small preset (~2,000 genes), 5 TFs")
    ap.add_argument("--n-tfs", type=int, default=None, help="bigWigs (default 20; 5 with --quick)")
    ap.add_argument("--jobs", type=int, default=2, help="cores for extract --jobs and computeMatrix -p")
    ap.add_argument("--naive-genes", type=int, default=None,
                    help="genes timed in the naive loop (default 1000; 200 with --quick)")
    ap.add_argument("--skip-deeptools", action="store_true", help="skip computeMatrix (slowest part)")
    ap.add_argument("--deeptools-genes", type=int, default=None,
                    help="run computeMatrix on this many evenly spaced promoters and extrapolate its "
                         "time to all (default: all promoters, no extrapolation)")
    ap.add_argument("--baseline-rev", default=None,
                    help="also time the extract of this git revision (e.g. the commit before a change)")
    args = ap.parse_args()
    n_tfs = args.n_tfs or (5 if args.quick else 20)
    naive_genes = args.naive_genes or (200 if args.quick else 1000)
    J = args.jobs
    wd = args.workdir
    wd.mkdir(parents=True, exist_ok=True)
    prom, bws = build(wd, args.quick, n_tfs)
    bws = bws[:n_tfs]
    import pandas as pd

    df = pd.read_csv(prom, sep="\t", dtype={"chrom": str})
    G, T = len(df), len(bws)
    clipped = df["clipped"].astype(str).str.lower().eq("true")
    genome_mb = sum(int(l.split("\t")[1]) for l in (wd / "sim" / "genome.fa.fai").read_text().splitlines()) / 1e6
    print(f"\ndataset: {G} promoters ({int(clipped.sum())} clipped), {T} bigWigs, genome {genome_mb:.1f} Mb; "
          f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(f"  {'run':<58s} {'wall':>11s}  {'maxRSS':>8s}  {'treePeak':>8s}")
    logs = wd / "logs"
    logs.mkdir(exist_ok=True)
    out = wd / "out"
    shutil.rmtree(out, ignore_errors=True)
    bw_args = [a for b in bws for a in ("--bigwig", str(b))]
    R = {}

    def extract(key, label, reader, jobs, bigwig_args=bw_args, cli=None, env=None):
        R[key] = measure(label, [*(cli or TFVOCAB), "extract", "--promoters", str(prom), *bigwig_args,
                                 "--outdir", str(out / key), "--reader", reader, "--jobs", str(jobs)],
                         logs / f"{key}.log", env=env)
        R[key]["phases"] = phase_seconds(logs / f"{key}.log")

    for jobs in sorted({1, J}):
        extract(f"native_j{jobs}", f"tfvocab extract --jobs {jobs} ({T} bigWigs)", "native", jobs)
    for reader in ("pybigtools", "pybigwig"):
        extract(f"{reader}_j{J}", f"tfvocab extract --reader {reader} --jobs {J}", reader, J)
    few = bws[:5]
    extract("native_5", f"tfvocab extract --jobs 1 ({len(few)} bigWigs)", "native", 1,
            [a for b in few for a in ("--bigwig", str(b))])
    if args.baseline_rev:
        src = baseline_src(args.baseline_rev, wd)
        env = dict(ENV, PYTHONPATH=str(src))
        for jobs in sorted({1, J}):
            extract(f"baseline_j{jobs}", f"BEFORE ({args.baseline_rev}) extract --jobs {jobs}", "pybigtools",
                    jobs, env=env)
    sig = sorted((out / "native_j1").glob("signal.*.h5"))
    R["merge"] = measure(f"tfvocab merge ({T} signal files)",
                         [*TFVOCAB, "-q", "merge", "--outdir", str(out / "merge"), *map(str, sig)],
                         logs / "merge.log")
    naive_file = wd / "naive_seconds.txt"
    R["naive_subset"] = measure(f"naive pyBigWig.values loop, {naive_genes} genes x {T} bigWigs",
                                [sys.executable, "-c", NAIVE, str(prom), str(naive_genes), str(naive_file),
                                 *map(str, bws)], logs / "naive.log")
    naive_loop = float(naive_file.read_text())
    naive_total = naive_loop * G / naive_genes
    print(f"  {'naive loop EXTRAPOLATED to ' + str(G) + ' genes (loop time x G/subset)':<58s} "
          f"{naive_total:9.1f} s")
    if not args.skip_deeptools and shutil.which("computeMatrix"):
        bed = wd / "start_codons.bed"
        sub = df
        if args.deeptools_genes and args.deeptools_genes < G:
            sub = df.iloc[np.linspace(0, G - 1, args.deeptools_genes).astype(int)]
        sub.assign(e=sub["start_codon"] + 1, score=0)[["chrom", "start_codon", "e", "gene_id", "score",
                                                        "strand"]].to_csv(bed, sep="\t", header=False, index=False)
        R["deeptools"] = measure(f"deepTools computeMatrix -p {J} ({len(sub)} promoters x {T} bigWigs)",
                                 ["computeMatrix", "reference-point", "--referencePoint", "TSS", "-b", "2000",
                                  "-a", "500", "--binSize", "50", "--missingDataAsZero", "--averageTypeBins",
                                  "mean", "--sortRegions", "keep", "-R", str(bed), "-S", *map(str, bws),
                                  "-p", str(J), "--outFileName", str(wd / "matrix.gz")],
                                 logs / "deeptools.log")
        if len(sub) < G:
            R["deeptools"]["measured_s"] = R["deeptools"]["wall_s"]
            R["deeptools"]["wall_s"] *= G / len(sub)
            print(f"  {'computeMatrix EXTRAPOLATED to ' + str(G) + ' promoters (time x G/subset)':<58s} "
                  f"{R['deeptools']['wall_s']:9.1f} s")
    # ---- summary
    print("\nper-bigWig phases (CPU s summed over bigWigs, from extract's log; total includes the HDF5 write):")
    for k, r in R.items():
        ph = r.get("phases")
        if ph and ph["n"]:
            print(f"  {r['label']:<58s} read {ph['read']:6.2f}  windows {ph['windows']:6.2f}  "
                  f"total {ph['total']:6.2f}  ({ph['total'] / ph['n']:.3f} s per bigWig)")
    print("\nexactness:")
    ref = out / "native_j1"
    for reader in ("pybigtools", "pybigwig"):
        print(f"  native == {reader} arrays (mean, max, mask): {same_files(ref, out / f'{reader}_j{J}')}")
    if J != 1:
        print(f"  --jobs 1 and --jobs {J} files byte-identical: {same_bytes(ref, out / f'native_j{J}')}")
    if args.baseline_rev:
        before = out / "baseline_j1"
        worst = 0.0
        import h5py

        for f in sorted(ref.glob("signal.*.h5")):
            with h5py.File(f) as a, h5py.File(before / f.name) as b:
                ok = ~a["mask"][()]
                assert np.array_equal(a["mask"][()], b["mask"][()])
                for d in ("mean", "max"):
                    worst = max(worst, float(np.abs(a[d][()][ok] - b[d][()][ok]).max()))
        print(f"  max |after - before| over mean and max (masks equal): {worst:.2e}")
    if "deeptools" in R:
        diff = compare_deeptools(wd / "matrix.gz", ref, bws)
        print(f"  max |extract mean - computeMatrix| over {'all' if len(sub) == G else len(sub)} unclipped "
              f"promoters x 50 windows x {T}: {diff:.2e}")
    print("\nratios (same dataset, same run):")
    best, best1 = R[f"native_j{J}"], R["native_j1"]
    if "deeptools" in R:
        dt = R["deeptools"]["wall_s"]
        tag = "" if len(sub) == G else " (EXTRAPOLATED)"
        print(f"  computeMatrix -p {J}{tag} / {best['label']}: {dt / best['wall_s']:.1f}x")
        print(f"  computeMatrix -p {J}{tag} / {best1['label']} (1 core): {dt / best1['wall_s']:.1f}x")
    if args.baseline_rev:
        for jobs in sorted({1, J}):
            print(f"  before / after, --jobs {jobs}: {R[f'baseline_j{jobs}']['wall_s']:.1f} / "
                  f"{R[f'native_j{jobs}']['wall_s']:.1f} s = "
                  f"{R[f'baseline_j{jobs}']['wall_s'] / R[f'native_j{jobs}']['wall_s']:.2f}x")
    print(f"  naive loop (extrapolated) / {best['label']}: {naive_total / best['wall_s']:.1f}x")
    for reader in ("pybigtools", "pybigwig"):
        print(f"  reader {reader} / native wall time (--jobs {J}): "
              f"{R[f'{reader}_j{J}']['wall_s'] / best['wall_s']:.2f}x")
    m5, mall = R["native_5"]["maxrss_mb"], R["native_j1"]["maxrss_mb"]
    print(f"  peak RSS {T} bigWigs / 5 bigWigs (1 job): {mall:.0f} / {m5:.0f} MB = {mall / m5:.2f}x")
    (wd / "results.json").write_text(json.dumps({"genes": G, "bigwigs": T, "runs": R,
                                                 "naive_extrapolated_s": naive_total}, indent=2))


if __name__ == "__main__":
    main()
