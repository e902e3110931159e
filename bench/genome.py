"""Genome scale, end to end: every step on 27,000 genes x 300 TFs, with the defaults.

    python -P bench/genome.py [--quick] [--workdir DIR] [--epochs 2] [--tfs-also 60]

Each step runs as its own ``tfvocab <step>`` command in a child process (the functions the CLI,
``tfvocab demo`` and the pipeline run), one fold (fold 0 of the default folds), training capped
at ``--epochs`` x ``--steps`` (``tfvocab train --max-steps-per-epoch``). Per step the bench prints wall seconds, CPU seconds (user + system of the
child, from ``os.wait4``), peak RSS of the child, and the bytes it wrote under its ``--outdir``;
then the training throughput, the universe evaluation (every pair among the fold's held-out
genes) and predict's all-vs-all figures, from the steps' own outputs. ``--tfs-also T`` repeats
the data steps with T TFs (same genes) so the peak RSS of each step can be compared across TF
counts. The simulated dataset is reused from ``--workdir`` when it is complete (manifest).
``--quick``: 3,000 genes x 30 TFs, one epoch, for a smoke run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def run_step(name: str, args: list, outdir: Path, logs: Path, threads: int) -> dict:
    """Run ``tfvocab <args>`` in a child; wall, CPU, peak RSS and bytes written under ``outdir``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads)}
    cmd = [sys.executable, "-m", "tfvocab.cli", *map(str, args)]
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{name}.log"
    before = dir_bytes(outdir)
    t0 = time.perf_counter()
    with open(log_path, "w") as log:
        log.write("$ " + " ".join(shlex.quote(c) for c in cmd) + "\n")
        log.flush()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        tail = "".join(log_path.read_text().splitlines(keepends=True)[-15:])
        raise SystemExit(f"step {name} failed (exit {code}); {log_path}:\n{tail}")
    return {"step": name, "wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime,
            "peak_rss_mb": ru.ru_maxrss / 1024, "bytes_written": dir_bytes(outdir) - before,
            "log": str(log_path)}


def chain(sim: Path, work: Path, epochs: int, threads: int, jobs: int, training: bool = True,
          rerun: tuple = (), max_steps: int = 0, n_predict: int = 0) -> list[dict]:
    """The data steps (and with ``training`` the model steps) on the simulation ``sim``. A step
    whose outputs are complete from an earlier run (manifest, and its measurement saved under
    ``logs/``) is reused unless named in ``rerun``; rerunning a step reruns every later one."""
    w = {s: work / s for s in ("promoters", "extract", "merge", "normalize", "tokenize", "pairs",
                               "train", "evaluate", "predict")}
    logs = work / "logs"
    steps = [
        ("promoters", ["promoters", "--gff", sim / "annotation.gff3", "--fasta", sim / "genome.fa",
                       "--outdir", w["promoters"]], w["promoters"]),
        ("extract", ["extract", "--promoters", w["promoters"] / "promoters.tsv", "--samplesheet",
                     sim / "samplesheet.csv", "--jobs", jobs, "--outdir", w["extract"]], w["extract"]),
        ("merge", lambda: ["merge", "--samplesheet", sim / "samplesheet.csv", "--outdir", w["merge"],
                           *sorted(w["extract"].glob("signal.*.h5"))], w["merge"]),
        ("normalize", ["normalize", "--signal", w["merge"] / "signal.h5", "--outdir", w["normalize"]],
         w["normalize"]),
        ("tokenize", ["tokenize", "--normalized", w["normalize"] / "normalized.h5", "--outdir",
                      w["tokenize"]], w["tokenize"]),
        ("pairs", ["pairs", "--coexpression", sim / "coexpression.tsv", "--promoters",
                   w["promoters"] / "promoters.tsv", "--outdir", w["pairs"]], w["pairs"]),
    ]
    data = ["--tokens", w["tokenize"] / "tokens.h5", "--normalized", w["normalize"] / "normalized.h5"]
    listed = ["--pairs", w["pairs"] / "pairs.tsv", "--genes", w["pairs"] / "genes.tsv"]
    if training:
        model = w["train"] / "fold_0" / "model.pt"
        steps += [
            ("train", ["train", *data, *listed, "--fold", 0, "--epochs", epochs,
                       "--max-steps-per-epoch", max_steps, "--outdir", w["train"] / "fold_0"], w["train"]),
            ("evaluate", ["evaluate", "--model", model, *data, *listed, "--promoters",
                          w["promoters"] / "promoters.tsv", "--truth", sim / "truth", "--outdir",
                          w["evaluate"] / "fold_0"], w["evaluate"]),
            ("predict", lambda: ["predict", "--model", model, *data, *predict_genes(w, n_predict),
                                 "--outdir", w["predict"]], w["predict"]),
        ]
    rows = []
    for name, args, out in steps:
        saved = logs / f"{name}.json"
        if name not in rerun and saved.exists() and complete(out):
            r = {**json.loads(saved.read_text()), "reused": True}
        else:
            args = args() if callable(args) else args
            r = run_step(name, args, out, logs, threads)
            r["load_after"] = os.getloadavg()
            saved.write_text(json.dumps(r))
            for later in [s[0] for s in steps][[s[0] for s in steps].index(name) + 1:]:
                (logs / f"{later}.json").unlink(missing_ok=True)   # downstream must rerun
        rows.append(r)
        print(f"  {name:<10} {r['wall_s']:8.1f} s wall {r['cpu_s']:8.1f} s CPU "
              f"{r['peak_rss_mb']:8.0f} MB peak {r['bytes_written'] / 2**20:9.1f} MB written"
              f"{'  (reused: measured in an earlier run)' if r.get('reused') else ''}", flush=True)
    return rows


def predict_genes(w: dict, n: int) -> list:
    """``--genes FILE`` of the first ``n`` promoters (0 = every gene: no option)."""
    if not n:
        return []
    import pandas as pd

    genes = pd.read_csv(w["promoters"] / "promoters.tsv", sep="\t", usecols=["gene_id"]).gene_id
    path = w["predict"].parent / f"predict_genes_{n}.txt"
    path.write_text("\n".join(genes.iloc[:n]) + "\n")
    return ["--genes", path]


def complete(out: Path) -> bool:
    """Every published folder under ``out`` (the step folder or its fold_k) has its manifest."""
    sys.path.insert(0, str(ROOT / "src"))
    from tfvocab.publish import folder_complete

    dirs = [out] if any(out.glob("*.manifest.json")) else sorted(out.glob("fold_*"))
    return bool(dirs) and all(folder_complete(d) for d in dirs)


def big_list_pairs(sim: Path, work: Path, n_pairs: int, threads: int) -> dict:
    """``tfvocab pairs`` on a co-expression list of ``n_pairs`` rows (ATTED-II-sized: the
    simulated list plus seeded random gene pairs with random scores, written once); timed only,
    the model steps use the simulated list."""
    import numpy as np
    import pandas as pd

    path = work / f"coexpression_{n_pairs}.tsv"
    if not path.exists():
        co = pd.read_csv(sim / "coexpression.tsv", sep="\t")
        genes = pd.read_csv(work / "promoters" / "promoters.tsv", sep="\t", usecols=["gene_id"]).gene_id.to_numpy()
        rng = np.random.default_rng(0)
        n = max(0, n_pairs - len(co))
        a, b = rng.integers(0, len(genes), n), rng.integers(0, len(genes), n)
        extra = pd.DataFrame({co.columns[0]: genes[a], co.columns[1]: genes[b],
                              co.columns[2]: rng.random(n).round(4)})
        pd.concat([co, extra[a != b]]).to_csv(path, sep="\t", index=False)
    out = work / "pairs_big"
    r = run_step("pairs_big_list", ["pairs", "--coexpression", path, "--promoters",
                                    work / "promoters" / "promoters.tsv", "--outdir", out],
                 out, work / "logs", threads)
    r["list_rows"] = int(n_pairs)
    print(f"  pairs on a {n_pairs:,}-row list: {r['wall_s']:.1f} s wall, {r['peak_rss_mb']:.0f} MB peak")
    return r


def simulate(work: Path, n_genes: int, n_tfs: int, threads: int) -> tuple[Path, dict | None]:
    sim = work / f"simulate_{n_genes}x{n_tfs}"
    sys.path.insert(0, str(ROOT / "src"))
    from tfvocab.publish import folder_complete

    if folder_complete(sim):
        print(f"reusing {sim}")
        return sim, None
    print(f"simulating {n_genes} genes x {n_tfs} TFs into {sim} ...", flush=True)
    r = run_step("simulate", ["simulate", "--preset", "genome", "--seed", 0, "--n-genes", n_genes,
                              "--n-tfs", n_tfs, "--outdir", sim], sim, work / "logs", threads)
    print(f"  simulate   {r['wall_s']:8.1f} s wall, {r['peak_rss_mb']:.0f} MB peak")
    return sim, r


def figures(work: Path) -> dict:
    """Training throughput, universe evaluation and predict figures from the steps' outputs."""
    out = {}
    log = (work / "logs" / "train.log").read_text() if (work / "logs" / "train.log").exists() else ""
    m = re.findall(r"(\d[\d,]*) pairs/s", log)
    if m:
        out["train_pairs_per_s"] = m[-1]
    tl = work / "train" / "fold_0" / "train_log.tsv"
    if tl.exists():
        import pandas as pd

        t = pd.read_csv(tl, sep="\t")
        out["train_epochs"] = int(len(t))
        out["train_seconds_per_epoch"] = float(t["seconds"].mean())
    mj = work / "evaluate" / "fold_0" / "metrics.json"
    if mj.exists():
        m = json.loads(mj.read_text())
        uni = m.get("universe", {})
        tr = uni.get("transformer", {})
        out["universe_pairs"] = tr.get("n_pairs")
        out["universe_genes"] = tr.get("n_genes")
        out["universe"] = {k: {"auprc": v.get("auprc"), "auprc_ci": v.get("auprc_ci"),
                               "auroc": v.get("auroc")} for k, v in uni.items() if isinstance(v, dict)}
        out["verdict"] = m.get("verdict")
    pj = work / "predict" / "predict.summary.json"
    if pj.exists():
        p = json.loads(pj.read_text())
        out["predict"] = {k: p.get(k) for k in ("n_genes", "n_pairs_scored", "n_edges", "n_modules", "seconds")}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "tfvocab_bench_genome")
    ap.add_argument("--n-genes", type=int, default=27000)
    ap.add_argument("--n-tfs", type=int, default=300)
    ap.add_argument("--epochs", type=int, default=2, help="training cap (epochs) [2]")
    ap.add_argument("--steps", type=int, default=40,
                    help="training cap: steps (batches of 4,096 pairs) per epoch, 0 = all [40]")
    ap.add_argument("--threads", type=int, default=2, help="torch/BLAS threads per step [2]")
    ap.add_argument("--jobs", type=int, default=2, help="extract --jobs [2]")
    ap.add_argument("--tfs-also", type=int, default=None,
                    help="repeat the data steps with this many TFs (memory vs TF count)")
    ap.add_argument("--quick", action="store_true", help="3,000 genes x 30 TFs, 1 epoch")
    ap.add_argument("--rerun", nargs="*", default=(), metavar="STEP",
                    help="rerun these steps (and every later one) even if complete in --workdir")
    ap.add_argument("--data-only", action="store_true", help="stop after pairs (no training)")
    ap.add_argument("--predict-genes", type=int, default=0,
                    help="all-vs-all among the first N genes only (0 = all genes) [0]")
    ap.add_argument("--list-pairs", type=int, default=1_350_000,
                    help="also time `tfvocab pairs` on a co-expression list of this many rows [1,350,000]")
    a = ap.parse_args(argv)
    if a.quick:
        a.n_genes, a.n_tfs, a.epochs = 3000, 30, 1
        a.tfs_also = a.tfs_also or 10
    a.workdir.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    print(f"# bench/genome.py: {a.n_genes} genes x {a.n_tfs} TFs, {a.epochs} epoch(s), "
          f"{a.threads} threads, {os.cpu_count()} CPUs, load {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}, "
          f"{platform.processor() or platform.machine()}")
    sim, sim_row = simulate(a.workdir, a.n_genes, a.n_tfs, a.threads)
    work = a.workdir / f"chain_{a.n_genes}x{a.n_tfs}"
    print(f"chain into {work}:")
    rows = chain(sim, work, a.epochs, a.threads, a.jobs, training=not a.data_only, rerun=tuple(a.rerun),
                 max_steps=a.steps, n_predict=a.predict_genes)
    figs = figures(work)
    if a.list_pairs:
        figs["pairs_big_list"] = big_list_pairs(sim, work, a.list_pairs, a.threads)
    result = {"n_genes": a.n_genes, "n_tfs": a.n_tfs, "epochs": a.epochs, "steps_per_epoch": a.steps, "threads": a.threads,
              "load_at_start": load, "load_at_end": os.getloadavg(), "simulate": sim_row,
              "steps": rows, "figures": figs}
    no_train = [r for r in rows if r["step"] != "train"]
    result["chain_except_training_wall_s"] = sum(r["wall_s"] for r in no_train)
    result["max_peak_rss_mb"] = max(r["peak_rss_mb"] for r in rows)
    dom = max(no_train, key=lambda r: r["wall_s"])
    result["dominant_step"] = dom["step"]
    if a.tfs_also:
        sim2, _ = simulate(a.workdir, a.n_genes, a.tfs_also, a.threads)
        print(f"data steps again with {a.tfs_also} TFs:")
        rows2 = chain(sim2, a.workdir / f"chain_{a.n_genes}x{a.tfs_also}", a.epochs, a.threads,
                      a.jobs, training=False)
        result["tf_sweep"] = {r["step"]: {"peak_rss_mb": {a.n_tfs: r["peak_rss_mb"],
                                                          a.tfs_also: r2["peak_rss_mb"]}}
                              for r, r2 in zip(rows, rows2)}
    print()
    print(f"| step | wall (s) | CPU (s) | peak RSS (MB) | written (MB) |")
    print(f"|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['step']} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['peak_rss_mb']:.0f} | "
              f"{r['bytes_written'] / 2**20:.1f} |")
    print(f"\nchain except training: {result['chain_except_training_wall_s'] / 60:.1f} min wall "
          f"(target < 30 min); peak RSS max {result['max_peak_rss_mb']:.0f} MB (target < 8192); "
          f"dominant step: {dom['step']} ({dom['wall_s']:.0f} s)")
    if "tf_sweep" in result:
        print(f"\npeak RSS (MB) vs TF count ({a.tfs_also} -> {a.n_tfs} TFs):")
        for step, v in result["tf_sweep"].items():
            lo, hi = v["peak_rss_mb"][a.tfs_also], v["peak_rss_mb"][a.n_tfs]
            print(f"  {step:<10} {lo:7.0f} -> {hi:7.0f}  (x{hi / max(lo, 1):.2f})")
    print("\nfigures:", json.dumps(figs, indent=1, default=str))
    (work / "bench_genome.json").write_text(json.dumps(result, indent=1, default=str))
    print(f"\nwritten {work / 'bench_genome.json'}")


if __name__ == "__main__":
    main()
