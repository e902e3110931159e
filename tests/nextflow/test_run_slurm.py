"""-profile slurm on a real one-node SLURM cluster (.ci/start_slurm.sh; CI starts it in .ci/run).

* `-profile test,slurm --cluster_options='--comment=tfvocab-ci'`: every task a SLURM job (trace
  native_id = its job id), the sbatch options in every job script and in the job itself, the same
  summary.json as the local executor's run;
* preemption, in the same run: fold 0's running TRAIN job is requeued (`scontrol requeue`:
  refused, Nextflow submits with --no-requeue, so a requeueing preemption becomes a cancel) and
  cancelled (`scancel`: SIGTERM, exit 143); Nextflow retries it (conf/base.config), the retry
  resumes from its checkpoint and ends with the uninterrupted local run's model;
* -profile slurm,gpu: TRAIN's job script asks for `--gres=gpu:1` on the `gpu` queue (checked in
  the script Nextflow writes; a stand-in sbatch records it: there is no GPU here).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

import runs
from runs import ROOT, TEST_FOLDS

pytestmark = pytest.mark.pipeline

COMMENT = "tfvocab-ci"


@pytest.fixture(scope="session")
def slurm_ready(nextflow_ready):
    ok = bool(shutil.which("sinfo") and shutil.which("sbatch"))
    state = ""
    if ok:
        res = subprocess.run(["sinfo", "-h", "-p", "cpu", "-o", "%T"], capture_output=True, text=True)
        state = res.stdout.strip()
        ok = res.returncode == 0 and any(s.rstrip("*") in ("idle", "mixed", "allocated") for s in state.split())
    runs.need(ok, f"no SLURM cluster with an available partition 'cpu' (sinfo: {state or 'not found'}): "
                  "run `bash .ci/start_slurm.sh` (as root)")


@pytest.fixture(scope="session")
def slurm_launch(tmp_path_factory):
    return tmp_path_factory.mktemp("nf_slurm")


def _train_job(fold: int) -> tuple[str, str]:
    """(job id, state) of the queued / running TRAIN job of `fold`, or ('', '')."""
    out = subprocess.run(["squeue", "-h", "-o", "%i|%j|%T"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        job, name, state = line.split("|")
        if "TFVOCAB_TRAIN" in name and f"fold_{fold}" in name:
            return job, state
    return "", ""


def _preempt_fold0(launch: Path, events: dict) -> None:
    """When fold 0's TRAIN job has written its first checkpoint: pause the training process
    (SIGSTOP, so that what follows lands mid-training whatever the machine's load), try
    `scontrol requeue` (refused: Nextflow submits with --no-requeue), then `scancel` the job, as a
    preempting scheduler does with a job it may not requeue."""
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline and "done" not in events:
        found = list((launch / "work/checkpoints").glob("*/fold_0/checkpoint.pt"))
        job, state = _train_job(0)
        if found and job and state == "RUNNING":
            subprocess.run(["pkill", "-STOP", "-f", "--", f"--checkpoint-dir {found[0].parent} "])
            rq = subprocess.run(["scontrol", "requeue", job], capture_output=True, text=True)
            events["requeue"] = f"scontrol requeue {job}: exit {rq.returncode} {(rq.stdout + rq.stderr).strip()}"
            subprocess.run(["scancel", job], check=True)
            events["scancel"] = job
            return
        time.sleep(0.1)


@pytest.fixture(scope="session")
def slurm_run(slurm_ready, slurm_launch):
    """`-profile test,slurm --cluster_options='--comment=tfvocab-ci'`, with fold 0's TRAIN job
    preempted mid-training (`_preempt_fold0`); `run.extra` holds what the preemption did."""
    events: dict[str, str] = {}
    watcher = threading.Thread(target=_preempt_fold0, args=(slurm_launch, events), daemon=True)
    watcher.start()
    run = runs.pipeline(slurm_launch, "slurm", "test,slurm", f"--cluster_options=--comment={COMMENT}")
    events["done"] = "1"
    watcher.join(5)
    assert run.rc == 0, run.describe()
    run.extra = events
    return run


def test_every_task_runs_as_a_slurm_job(slurm_run):
    trace = slurm_run.trace()
    print("\n".join(f"{t['native_id']}\t{t['name']}\tattempt {t['attempt']}\t{t['status']}" for t in trace))
    ids = [t["native_id"] for t in trace]
    runs.note(f"slurm: {len(ids)} jobs, native ids {', '.join(ids)}")
    assert trace and all(re.fullmatch(r"\d+", i) for i in ids) and len(set(ids)) == len(ids), ids
    # every task completed; the one failed attempt is the preempted TRAIN (below)
    failed = [(t["name"], t["attempt"]) for t in trace if t["status"] != "COMPLETED"]
    assert failed == [("TFVOCAB:TFVOCAB_TRAIN (simulated_tiny fold 0)", "1")], failed
    for task in trace:
        script = (Path(task["workdir"]) / ".command.run").read_text()
        assert "#SBATCH -p cpu" in script and "#SBATCH --no-requeue" in script, task["name"]


def test_cluster_options_reach_sbatch(slurm_run):
    trace = slurm_run.trace()
    for task in trace:
        script = (Path(task["workdir"]) / ".command.run").read_text()
        assert f"#SBATCH --comment={COMMENT}" in script, task["name"]
    # and SLURM has it: the last job is still known to slurmctld (MinJobAge)
    job = trace[-1]["native_id"]
    shown = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True).stdout
    if shown:
        assert f"Comment={COMMENT}" in shown, shown


def test_preempted_train_job_is_retried_and_resumes(slurm_run, local_run):
    events = slurm_run.extra
    runs.note(f"slurm preemption: {events.get('requeue')}; scancel {events.get('scancel')}")
    assert "scancel" in events, f"fold 0's TRAIN job was never seen running with a checkpoint: {events}"
    assert "presently disabled" in events["requeue"], events["requeue"]
    train = sorted((t for t in slurm_run.tasks("TFVOCAB_TRAIN") if t["tag"].endswith("fold 0")), key=lambda t: int(t["attempt"]))
    print("\n".join(f"{t['native_id']}\t{t['name']}\tattempt {t['attempt']}\t{t['status']}\texit {t['exit']}" for t in train))
    assert [(t["attempt"], t["status"]) for t in train] == [("1", "FAILED"), ("2", "COMPLETED")]
    assert train[0]["native_id"] == events["scancel"] and train[0]["exit"] == "143"
    retry_line = re.search(r".*`TFVOCAB:TFVOCAB_TRAIN \(simulated_tiny fold 0\)` terminated with an error exit status "
                           r"\(143\) -- Execution is retried.*", slurm_run.out)
    assert retry_line, slurm_run.out[-3000:]
    runs.note(f"slurm preemption: {retry_line.group(0).strip()}")
    retry = Path(train[1]["workdir"])
    resumed = re.search(r"resuming after epoch (\d+)", (retry / ".command.log").read_text())
    assert resumed and int(resumed.group(1)) >= 1, (retry / ".command.log").read_text()[-2000:]
    runs.note(f"slurm preemption, fold 0 retry (job {train[1]['native_id']}): {resumed.group(0)}")
    # the models of the uninterrupted local run
    for k in range(TEST_FOLDS):
        runs.assert_same_model(slurm_run.outdir / f"train/fold_{k}/model.pt", local_run.outdir / f"train/fold_{k}/model.pt")


def test_slurm_run_writes_the_local_runs_summary(slurm_run, local_run):
    assert runs.summary(slurm_run.outdir) == runs.summary(local_run.outdir)
    assert slurm_run.outdir.joinpath("report/report.html").is_file()


def test_slurm_gpu_gives_train_the_gpu_queue_and_gres(nextflow_ready, tmp_path):
    """-profile test,slurm,gpu: TRAIN's job script as Nextflow writes it (a stand-in sbatch on
    PATH records the submission and refuses it; no GPU and no SLURM needed)."""
    launch, inputs, bindir = tmp_path / "launch", tmp_path / "inputs", tmp_path / "bin"
    for d in (launch, inputs, bindir):
        d.mkdir()
    for name in ("tokens.h5", "normalized.h5", "pairs.tsv", "genes.tsv"):
        (inputs / name).write_text("")
    sbatch = bindir / "sbatch"
    sbatch.write_text(f"#!/bin/sh\necho \"sbatch $*\" >> '{bindir}/calls.txt'\necho 'sbatch: error: stand-in' >&2\nexit 1\n")
    sbatch.chmod(0o755)
    env = runs.tool_env()
    env["PATH"] = f"{bindir}:{env['PATH']}"
    run = runs.nextflow(["run", str(runs.PROBE), "-c", str(ROOT / "nextflow.config"), "-c", str(runs.CI_CONFIG),
                         "-profile", "test,slurm,gpu", "-ansi-log", "false", "--inputs", str(inputs),
                         f"--cluster_options=--comment={COMMENT}", "--outdir", str(launch / "results")],
                        launch, env=env)
    assert run.rc != 0 and (bindir / "calls.txt").exists(), run.describe()
    script = next((launch / "work").glob("*/*/.command.run")).read_text()
    directives = [ln for ln in script.splitlines() if ln.startswith("#SBATCH")]
    print("\n".join(directives))
    assert "#SBATCH -p gpu" in directives
    assert f"#SBATCH --comment={COMMENT} --gres=gpu:1" in directives
    assert "--device cuda" in next((launch / "work").glob("*/*/.command.sh")).read_text()
