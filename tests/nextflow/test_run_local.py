"""The pipeline run by Nextflow itself (24.10.0, `.ci/nextflow.sh`), local executor.

One `-profile test` run per test session (`local_run`), shared; the other runs `-resume` it in the
same launch folder (one Nextflow session: its cache holds every task any of them ran):
  * `-resume`                     every task CACHED;
  * `-resume --epochs 3`          TRAIN and what follows re-run, nothing upstream;
  * `-resume --folds 5 --checkpoint_dir D -c configs/kill_train.config`
                                  PAIRS and what follows re-run; fold 0's TRAIN is SIGKILLed after
                                  its first checkpoint, retried and resumed; the models and
                                  summary.json equal those of `tfvocab demo --preset tiny --seed 0
                                  --epochs 2` (5 folds too), an uninterrupted run.
Plus runs that must stop at launch (bad samplesheet, bad parameter) and the GPU settings of
`-profile test,podman,gpu` as Nextflow resolves them.
"""
from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import runs
from runs import ROOT, TEST_FOLDS

pytestmark = pytest.mark.pipeline

UPSTREAM = ["TFVOCAB_SIMULATE", "TFVOCAB_PROMOTERS", "TFVOCAB_EXTRACT", "TFVOCAB_MERGE",
            "TFVOCAB_NORMALIZE", "TFVOCAB_TOKENIZE"]
DOWNSTREAM_OF_TRAIN = ["TFVOCAB_TRAIN", "TFVOCAB_EVALUATE", "TFVOCAB_SUMMARIZE", "TFVOCAB_INTERPRET",
                       "TFVOCAB_PREDICT", "TFVOCAB_REPORT"]


def _status_by_process(run: runs.Run) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for t in run.trace():
        out.setdefault(t["process"].split(":")[-1], set()).add(t["status"])
    return out


def _sheet_tracks(results: Path) -> list[str]:
    """The EXTRACT tasks -profile test must run: one per TF of SIMULATE's samplesheet + each control."""
    with open(results / "simulate/samplesheet.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    controls = {Path(r["control"]).stem for r in rows if r.get("control")}
    return sorted([r["tf"] for r in rows] + sorted(controls))


# ---------------------------------------------------------------------------------------------
# Nextflow itself
# ---------------------------------------------------------------------------------------------
def test_nextflow_sh_runs_nextflow_24_10_0_from_any_folder(nextflow_ready, tmp_path):
    run = runs.nextflow(["-version"], tmp_path)
    assert run.rc == 0, run.describe()
    line = next(ln.strip() for ln in run.out.splitlines() if "version" in ln)
    runs.note(f".ci/nextflow.sh -version: {line}")
    assert re.search(r"\bversion 24\.10\.0\b", line), line
    # the pinned release satisfies the pipeline's manifest.nextflowVersion ('!>=24.04.0')
    required = re.search(r"nextflowVersion\s*=\s*'!?>=([\d.]+)'", (ROOT / "nextflow.config").read_text()).group(1)
    assert tuple(map(int, "24.10.0".split("."))) >= tuple(map(int, required.split(".")))
    # the stand-in, never the registry's plugin, in the private NXF_HOME
    manifest = ROOT / ".ci/cache/nextflow-home/plugins/nf-schema-2.3.0/classes/META-INF/MANIFEST.MF"
    assert "stand-in" in manifest.read_text()


# ---------------------------------------------------------------------------------------------
# -profile test
# ---------------------------------------------------------------------------------------------
def test_test_profile_runs_every_task_to_completion(local_run):
    trace = local_run.trace()
    assert trace and {t["status"] for t in trace} == {"COMPLETED"}, [(t["name"], t["status"]) for t in trace]
    by = {}
    for t in trace:
        by.setdefault(t["process"].split(":")[-1], []).append(t["tag"])
    assert sorted(by["TFVOCAB_EXTRACT"]) == _sheet_tracks(local_run.outdir)      # one per track
    for proc in ("TFVOCAB_TRAIN", "TFVOCAB_EVALUATE"):                              # one per fold
        assert sorted(by[proc]) == [f"simulated_tiny fold {k}" for k in range(TEST_FOLDS)]
    for proc in ("TFVOCAB_SIMULATE", "TFVOCAB_PROMOTERS", "TFVOCAB_MERGE", "TFVOCAB_NORMALIZE",
                 "TFVOCAB_TOKENIZE", "TFVOCAB_PAIRS", "TFVOCAB_SUMMARIZE", "TFVOCAB_INTERPRET",
                 "TFVOCAB_PREDICT", "TFVOCAB_REPORT"):
        assert len(by[proc]) == 1, proc
    # the completion handler works (it threw a NullPointerException before) and names the outputs
    assert re.search(r"\[tfvocab/tfvocab\] pipeline completed successfully in .*: results in .*results_local/", local_run.out)


def test_test_profile_run_has_no_warnings_nextflow_flags(local_run):
    """Regressions the first real runs showed: `first` on a value channel, params read at launch
    by the container closures, the completion handler's NullPointerException."""
    for bad in ("is useless when applied to a value channel", "Access to undefined parameter",
                "NullPointerException", "WARN:"):
        assert bad not in local_run.out, f"{bad!r} in the run's output:\n{local_run.out[-3000:]}"
    log = (local_run.launch / ".nextflow.log").read_text()
    assert "nf-schema@2.3.0 is the tfvocab tests' stand-in" in log   # the stand-in says what it is


def _documented_tree() -> dict[str, list[str]]:
    """docs/output.md: {folder glob: [file globs]} from its `## `folder/`` sections' tables."""
    text = (ROOT / "docs/output.md").read_text()
    tree: dict[str, list[str]] = {}
    folder = None
    for line in text.splitlines():
        head = re.match(r"^## `([^`]+)/`", line)
        if head:
            folder = re.sub(r"<[^>]+>", "*", head.group(1))
            tree[folder] = []
            continue
        if line.startswith("## "):
            folder = None
        if folder and line.startswith("| `"):
            cell = line.split("|")[1]
            tree[folder] += [re.sub(r"<[^>]+>", "*", name) for name in re.findall(r"`([^`]+)`", cell)]
    return tree


def test_published_tree_is_the_one_docs_output_md_describes(local_run):
    import fnmatch

    tree = _documented_tree()
    results = local_run.outdir
    published = sorted(str(p.relative_to(results)) for p in results.rglob("*") if p.is_file())
    # the top-level folders: those documented (simulate/: -profile test simulates)
    top = {p.split("/")[0] for p in published}
    assert top == {f.split("/")[0] for f in tree}, (sorted(top), sorted(tree))

    def matches(path: str) -> list[tuple[str, str]]:
        hits = []
        for folder, names in tree.items():
            for name in names:
                pattern = f"{folder}/{name}"
                if name.endswith("/"):
                    pattern += "*"        # a documented subfolder (simulate/truth/): anything in it
                if fnmatch.fnmatchcase(path, pattern):
                    hits.append((folder, name))
        return hits

    undocumented = [p for p in published if not matches(p)]
    assert not undocumented, f"published but not in docs/output.md: {undocumented}"
    used = {hit for p in published for hit in matches(p)}
    missing = [f"{folder}/{name}" for folder, names in tree.items() for name in names
               if (folder, name) not in used]
    assert not missing, f"in docs/output.md but not published by -profile test: {missing}"


# ---------------------------------------------------------------------------------------------
# -resume
# ---------------------------------------------------------------------------------------------
def test_resume_takes_every_task_from_the_cache(local_run, nf_launch):
    run = runs.pipeline(nf_launch, "resume", "test", resume=True)
    assert run.rc == 0, run.describe()
    trace = run.trace()
    runs.note(f"resume: {runs.status_line(run)}")
    assert len(trace) == len(local_run.trace())
    assert {t["status"] for t in trace} == {"CACHED"}, [(t["name"], t["status"]) for t in trace]


def test_resume_with_a_training_parameter_reruns_train_and_what_follows_only(local_run, nf_launch):
    run = runs.pipeline(nf_launch, "epochs3", "test", "--epochs", "3", resume=True)
    assert run.rc == 0, run.describe()
    status = _status_by_process(run)
    runs.note(f"resume --epochs 3: {runs.status_line(run)}")
    for proc in UPSTREAM + ["TFVOCAB_PAIRS"]:
        assert status[proc] == {"CACHED"}, (proc, status[proc])
    for proc in DOWNSTREAM_OF_TRAIN:
        assert status[proc] == {"COMPLETED"}, (proc, status[proc])
    log = (run.outdir / "train/fold_0/train_log.tsv").read_text().splitlines()
    assert len(log) == 1 + 3, "3 epochs"


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """`tfvocab demo --preset tiny --seed 0 --epochs 2` (the quick path, uninterrupted; 5 folds,
    vocabulary 32): its output folder."""
    out = tmp_path_factory.mktemp("demo") / "demo"
    cmd = [str(Path(sys.executable).parent / "tfvocab"), "demo", "--preset", "tiny", "--seed", "0",
           "--epochs", "2", "--outdir", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=runs.tool_env(), timeout=1200)
    assert res.returncode == 0, res.stderr[-3000:]
    return out


@pytest.fixture(scope="session")
def folds5_run(local_run, nf_launch, tmp_path_factory):
    """`-resume --folds 5` (the demo's folds; everything else as the tiny demo: seed 0, vocabulary
    32, 2 epochs) with configs/kill_train.config: fold 0's first TRAIN attempt is SIGKILLed after
    its first checkpoint (a fresh --checkpoint_dir: the watcher must see this run's checkpoint)."""
    ckpt = tmp_path_factory.mktemp("checkpoints")
    run = runs.pipeline(nf_launch, "folds5_killed", "test", "--folds", "5", "--checkpoint_dir", str(ckpt),
                        resume=True, configs=(runs.CONFIGS / "kill_train.config",))
    assert run.rc == 0, run.describe()
    return run


def test_pipeline_and_tfvocab_demo_write_the_same_summary(folds5_run, demo):
    """The quick path and the pipeline are one implementation: `-profile test --folds 5` writes the
    summary.json of `tfvocab demo --preset tiny --seed 0 --epochs 2` (also after the kill below)."""
    status = _status_by_process(folds5_run)
    runs.note(f"resume --folds 5 (+ killed TRAIN): {runs.status_line(folds5_run)}")
    assert all(status[p] == {"CACHED"} for p in UPSTREAM), status     # the data steps: cached
    assert status["TFVOCAB_PAIRS"] == {"COMPLETED"}
    assert len({t["tag"] for t in folds5_run.tasks("TFVOCAB_TRAIN")}) == 5
    ours, theirs = runs.summary(folds5_run.outdir), runs.summary(demo)
    assert ours["n_folds"] == theirs["n_folds"] == 5
    assert ours == theirs


# ---------------------------------------------------------------------------------------------
# A TRAIN task killed mid-training
# ---------------------------------------------------------------------------------------------
def test_killed_train_is_retried_and_resumes_from_its_checkpoint(folds5_run, demo):
    run = folds5_run
    train = sorted(run.tasks("TFVOCAB_TRAIN"), key=lambda t: (t["tag"], int(t["attempt"])))
    print("\n".join(f"{t['name']}\tattempt {t['attempt']}\t{t['status']}\texit {t['exit']}" for t in train))
    fold0 = [t for t in train if t["tag"].endswith("fold 0")]
    assert [(t["attempt"], t["status"], t["exit"]) for t in fold0] == [("1", "FAILED", "137"), ("2", "COMPLETED", "0")]
    assert all(t["status"] == "COMPLETED" for t in train if not t["tag"].endswith("fold 0"))
    retry_line = re.search(r".*`TFVOCAB:TFVOCAB_TRAIN \(simulated_tiny fold 0\)` terminated with an error exit status "
                           r"\(137\) -- Execution is retried.*", run.out)
    assert retry_line, run.out[-3000:]
    runs.note(f"killed TRAIN: {retry_line.group(0).strip()}")
    # the retry ran `tfvocab train --resume` and continued after the checkpointed epoch
    retry = Path(fold0[1]["workdir"])
    assert "--resume" in (retry / ".command.sh").read_text()
    resumed = re.search(r"resuming after epoch (\d+)", (retry / ".command.err").read_text() + (retry / ".command.log").read_text())
    assert resumed, (retry / ".command.err").read_text()[-2000:]
    runs.note(f"killed TRAIN, fold 0 retry: {resumed.group(0)}")
    assert int(resumed.group(1)) >= 1
    # ... and ended exactly where an uninterrupted run ends: the demo's models, every fold
    for k in range(5):
        runs.assert_same_model(run.outdir / f"train/fold_{k}/model.pt", demo / f"train/fold_{k}/model.pt")


def test_a_failing_task_ends_the_run_with_the_error_handlers_message(nextflow_ready, tmp_path):
    """workflow.onError / onComplete of PIPELINE_COMPLETION on a failure (both threw a
    NullPointerException before): a stand-in `tfvocab` that fails makes SIMULATE fail."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "tfvocab"
    fake.write_text("#!/bin/sh\necho 'tfvocab stand-in: failing on purpose' >&2\nexit 3\n")
    fake.chmod(0o755)
    env = runs.tool_env()
    env["PATH"] = f"{bindir}:{env['PATH']}"
    run = runs.pipeline(tmp_path, "failing", "test", env=env)
    assert run.rc != 0, run.describe()
    assert "NullPointerException" not in run.out, run.out[-3000:]
    assert re.search(r"Process `TFVOCAB:TFVOCAB_SIMULATE \(tiny\)` terminated with an error exit status \(3\)", run.out)
    assert "[tfvocab/tfvocab] the pipeline failed: see the task's .command.err" in run.out, run.out[-3000:]
    assert re.search(r"\[tfvocab/tfvocab\] pipeline completed with errors after", run.out), run.out[-3000:]


# ---------------------------------------------------------------------------------------------
# Stopped at launch, before any task
# ---------------------------------------------------------------------------------------------
def _real_inputs(results: Path, tmp_path: Path, edit) -> list[str]:
    """--input/--gff/--fasta/--coexpression from SIMULATE's outputs; `edit(rows)` spoils the sheet."""
    sim = results / "simulate"
    with open(sim / "samplesheet.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        for col in ("bigwig", "control"):
            if row.get(col):
                row[col] = str((sim / row[col]).resolve())
    rows = edit(rows)
    sheet = tmp_path / "samplesheet.csv"
    with open(sheet, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["tf", "bigwig", "control"])
        w.writeheader()
        w.writerows(rows)
    return ["--input", str(sheet), "--gff", str(sim / "annotation.gff3"), "--fasta", str(sim / "genome.fa"),
            "--coexpression", str(sim / "coexpression.tsv")]


def _stopped_at_launch(run: runs.Run, expected: str) -> str:
    assert run.rc != 0, run.describe()
    assert "Submitted process" not in run.out and not list((run.launch / "work").glob("*/*")), run.describe()
    lines = [ln for ln in run.out.splitlines() if re.search(expected, ln)]
    assert lines, f"no line matching {expected!r}:\n{run.out[-3000:]}"
    runs.note(f"stopped at launch: {lines[0]}")
    return lines[0]


def _missing_bigwig(rows):
    rows[1]["bigwig"] = str(Path(rows[1]["bigwig"]).with_name("NO_SUCH_TF.bw"))
    return rows


def _duplicate_tf(rows):
    return rows + [dict(rows[0])]


@pytest.mark.parametrize("edit, expected", [
    (_missing_bigwig, r"^(ERROR ~ )?samplesheet\.csv line 3: bigwig file not found: .*NO_SUCH_TF\.bw"),
    (_duplicate_tf, r"^\* --input \(.*samplesheet\.csv\): Validation of file failed: -> Entry \d+: Detected duplicate entries: \[tf: \w+\] \(first in entry 1\)$"),
], ids=["missing-bigwig", "duplicate-tf"])
def test_bad_samplesheet_stops_the_run_at_launch(local_run, tmp_path, edit, expected):
    args = _real_inputs(local_run.outdir, tmp_path, edit)
    run = runs.pipeline(tmp_path, "bad_sheet", "docker", *args)   # docker: never reached
    _stopped_at_launch(run, expected)


@pytest.mark.parametrize("param, value, expected", [
    ("--epochs", "abc", r"^\* --epochs \(abc\): Value is \[string\] but should be \[integer\]"),
    ("--negatives", "sometimes", r"^\* --negatives \(sometimes\): Expected any of \[\[universe, uniform, degree, mixed, listed\]\]"),
], ids=["epochs-not-integer", "negatives-not-in-enum"])
def test_bad_parameter_stops_the_run_at_launch(nextflow_ready, tmp_path, param, value, expected):
    run = runs.pipeline(tmp_path, "bad_param", "test", param, value)
    line = _stopped_at_launch(run, expected)
    assert "The following invalid input values have been detected" in run.out, line


def test_cluster_options_without_equals_sign_stops_the_run_with_how_to_write_it(nextflow_ready, tmp_path):
    """`--cluster_options '--account=x'` (docs/usage.md had it so): Nextflow reads the value as an
    option of its own (cluster_options = true, account = x); the run stops saying how to write it."""
    run = runs.pipeline(tmp_path, "bad_cluster_options", "test", "--cluster_options", "--account=myproj")
    _stopped_at_launch(run, r"--cluster_options needs its value attached with '=': --cluster_options='--account=myproj'")


# ---------------------------------------------------------------------------------------------
# -profile test,podman,gpu as Nextflow resolves it (no GPU needed)
# ---------------------------------------------------------------------------------------------
def test_nextflow_config_of_test_podman_gpu(nextflow_ready, tmp_path):
    run = runs.nextflow(["config", str(ROOT), "-profile", "test,podman,gpu", "-flat"], tmp_path)
    assert run.rc == 0, run.describe()
    flat = dict(ln.split(" = ", 1) for ln in run.out.splitlines() if " = " in ln)
    assert flat["params.gpu"] == "true" and flat["podman.enabled"] == "true"
    assert flat["docker.enabled"] == "false" and flat["params.tfvocab_container_gpu"] == "'tfvocab:dev-gpu'"
    assert "params.gpu ? 1 : null" in flat["process.'withLabel:process_gpu'.accelerator"]


def test_train_gets_the_gpu_image_and_flag_under_podman_gpu(nextflow_ready, tmp_path):
    """TRAIN's task as Nextflow writes it for -profile test,podman,gpu: the CUDA image, `--gpus
    all`, `--device cuda`. A stand-in `podman` on PATH records the command and fails the task."""
    launch, inputs, podman = _probe_dirs(tmp_path)
    run = runs.nextflow(["run", str(runs.PROBE), "-c", str(ROOT / "nextflow.config"), "-c", str(runs.CI_CONFIG),
                         "-profile", "test,podman,gpu", "-ansi-log", "false", "--inputs", str(inputs),
                         "--outdir", str(launch / "results")], launch, env=_env_with(podman))
    assert run.rc != 0, run.describe()     # the stand-in podman fails the task, as intended
    calls = (podman.parent / "calls.txt").read_text()
    print(calls)
    task = next((launch / "work").glob("*/*/.command.sh")).parent
    assert re.search(r"^podman run .*--gpus all .* tfvocab:dev-gpu /bin/bash", calls, re.M), calls
    assert "--device cuda" in (task / ".command.sh").read_text()


def _probe_dirs(tmp_path: Path) -> tuple[Path, Path, Path]:
    launch, inputs, bindir = tmp_path / "launch", tmp_path / "inputs", tmp_path / "bin"
    for d in (launch, inputs, bindir):
        d.mkdir()
    for name in ("tokens.h5", "normalized.h5", "pairs.tsv", "genes.tsv"):
        (inputs / name).write_text("")
    return launch, inputs, bindir / "podman"


def _env_with(fake: Path) -> dict:
    """PATH with a stand-in for one executable, which logs its arguments and exits 1."""
    fake.write_text(f"#!/bin/sh\necho \"{fake.name} $*\" >> '{fake.parent}/calls.txt'\nexit 1\n")
    fake.chmod(0o755)
    env = runs.tool_env()
    env["PATH"] = f"{fake.parent}:{env['PATH']}"
    return env
