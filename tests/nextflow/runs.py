"""Real Nextflow runs of the pipeline for the tests (tests/nextflow/test_run_*.py).

Nextflow is `.ci/nextflow.sh` (24.10.0 from Maven Central, offline, with the nf-schema stand-in of
tests/nf-schema-standin). Each run gets `-c tests/nextflow/ci.config` (the trace fields the tests
read, fast SLURM polling), its own `--outdir` and trace suffix, and `tfvocab` of this Python
environment first on PATH. A tool a test needs (Java + Maven, podman, SLURM) is a failure when
missing in CI (CI=true) and a skip with the reason elsewhere.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NEXTFLOW = ROOT / ".ci/nextflow.sh"
CI_CONFIG = ROOT / "tests/nextflow/ci.config"
CONFIGS = ROOT / "tests/nextflow/configs"
PROBE = ROOT / "tests/nextflow/probes/train.nf"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
#: the settings of -profile test (conf/test.config) the tests compare against
TEST_FOLDS = 3
#: one line per pipeline run (its task counts, wall time) and the evidence lines the tests print,
#: shown at the end of pytest's output (tests/nextflow/conftest.py): CI's log keeps them
SUMMARY: list[str] = []


def note(line: str) -> None:
    """Print an evidence line and keep it for the end of pytest's output."""
    print(line)
    SUMMARY.append(line)


def status_line(run: "Run") -> str:
    """Which processes' tasks were CACHED / COMPLETED / FAILED in a run, compactly."""
    by: dict[str, dict[str, int]] = {}
    for t in run.trace():
        proc = t["process"].split(":")[-1].removeprefix("TFVOCAB_")
        by.setdefault(t["status"], {}).setdefault(proc, 0)
        by[t["status"]][proc] += 1
    return "; ".join(f"{status}: " + ", ".join(f"{p}" + (f" x{n}" if n > 1 else "") for p, n in procs.items())
                     for status, procs in by.items())


def need(ok: bool, reason: str) -> None:
    """Skip (with the reason) when a tool is missing; in CI a missing tool is a failure."""
    if ok:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI installs it: .ci/run)")
    pytest.skip(reason)


def tool_env() -> dict[str, str]:
    """The environment of every run: this environment's `tfvocab` first on PATH."""
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env["NXF_ANSI_LOG"] = "false"
    # the threads of the pipeline's tasks (one CPU each, tests/nextflow/ci.config), also for
    # `tfvocab demo`: torch's CPU sums differ in their last bits with the thread count, and the
    # models are compared bit for bit (.ci/run exports OMP_NUM_THREADS=2)
    env["OMP_NUM_THREADS"] = "1"
    return env


def setup_nextflow() -> str:
    """Resolve Nextflow and install the stand-in once (`.ci/nextflow.sh --setup-only`); '' or why not."""
    if not (shutil.which("java") and shutil.which("mvn")):
        return "Java and Maven are needed to run Nextflow (apt-get install openjdk-17-jdk-headless maven)"
    res = subprocess.run(["bash", str(NEXTFLOW), "--setup-only"], capture_output=True, text=True, timeout=900)
    if res.returncode != 0:
        return f".ci/nextflow.sh --setup-only failed: {(res.stderr or res.stdout).strip()[-800:]}"
    return ""


@dataclass
class Run:
    """One `nextflow run` (or any nextflow command): where, its output and exit status."""
    args: list[str]
    launch: Path
    rc: int
    out: str
    seconds: float
    name: str = ""
    outdir: Path | None = None
    extra: dict = field(default_factory=dict)

    @property
    def trace_file(self) -> Path:
        return self.outdir / "pipeline_info" / f"execution_trace_{self.name}.txt"

    def trace(self) -> list[dict[str, str]]:
        with open(self.trace_file, newline="") as fh:
            return list(csv.DictReader(fh, delimiter="\t"))

    def tasks(self, process: str) -> list[dict[str, str]]:
        """Trace rows of one process (by its short name, e.g. TFVOCAB_TRAIN)."""
        return [t for t in self.trace() if t["process"].split(":")[-1] == process]

    def succeeded_line(self) -> str:
        """The completion subworkflow's task counts ("... Succeeded: 25 task(s), cached: 0, ...")."""
        lines = [ln for ln in self.out.splitlines() if "Succeeded:" in ln]
        return lines[-1].lstrip("-") if lines else ""

    def describe(self) -> str:
        return f"nextflow {' '.join(self.args)} (exit {self.rc}, {self.seconds:.0f} s):\n{self.out[-6000:]}"


def nextflow(args: list[str], launch: Path, timeout: int = 1200, env: dict | None = None) -> Run:
    """`.ci/nextflow.sh ARGS` in the folder `launch`; output captured (stdout + stderr)."""
    launch.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    res = subprocess.run(["bash", str(NEXTFLOW), *args], cwd=launch, env=env or tool_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    seconds = time.monotonic() - t0
    with (launch / "runs.log").open("a") as fh:   # every run's output, for a failure's post-mortem
        fh.write(f"\n### nextflow {' '.join(args)}  (exit {res.returncode}, {seconds:.0f} s)\n{res.stdout}")
    return Run(args, launch, res.returncode, res.stdout, seconds)


def pipeline(launch: Path, name: str, profile: str, *extra: str, resume: bool = False,
             configs: tuple[Path, ...] = (), timeout: int = 1200, env: dict | None = None) -> Run:
    """`nextflow run <checkout> -profile PROFILE` into `launch/results_<name>` (trace suffix `name`)."""
    outdir = launch / f"results_{name}"
    args = ["run", str(ROOT), "-profile", profile, "-ansi-log", "false", "-w", str(launch / "work"),
            "-c", str(CI_CONFIG)]
    for cfg in configs:
        args += ["-c", str(cfg)]
    if resume:
        args.append("-resume")
    args += ["--outdir", str(outdir), "--trace_report_suffix", name, "--monochrome_logs", *extra]
    run = nextflow(args, launch, timeout=timeout, env=env)
    run.name, run.outdir = name, outdir
    line = f"{name}: {run.succeeded_line() or f'exit {run.rc}'} ({run.seconds:.0f} s)"
    print(line)
    SUMMARY.append(line)
    return run


def summary(outdir: Path) -> dict:
    """summarize/summary.json without its provenance (which names the run's own input paths)."""
    data = json.loads((outdir / "summarize/summary.json").read_text())
    data.pop("provenance", None)
    return data


def model_state(path: Path) -> dict:
    """A model.pt's weights and what it was trained as (no provenance), for equality checks."""
    import torch

    obj = torch.load(path, map_location="cpu", weights_only=True)
    return {"state_dict": {k: v.clone() for k, v in obj["state_dict"].items()},
            "best_epoch": obj.get("best_epoch"), "val_auprc": obj.get("val_auprc"),
            "config": obj.get("config")}


def assert_same_model(a: Path, b: Path) -> None:
    import torch

    ma, mb = model_state(a), model_state(b)
    assert ma["best_epoch"] == mb["best_epoch"] and ma["val_auprc"] == mb["val_auprc"], (a, b)
    assert ma["config"] == mb["config"], (a, b)
    assert ma["state_dict"].keys() == mb["state_dict"].keys()
    for key, value in ma["state_dict"].items():
        assert torch.equal(value, mb["state_dict"][key]), f"{key} differs between {a} and {b}"
