"""-profile test,podman: every task inside the image tfvocab:dev, built from this checkout by
.ci/build_image.sh (CI builds it in .ci/run): the image's tfvocab is the checkout's, and the run
writes the local executor's summary.json."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

import runs

pytestmark = pytest.mark.pipeline

IMAGE = "tfvocab:dev"    # conf/test.config's params.tfvocab_container


@pytest.fixture(scope="session")
def podman_image(nextflow_ready):
    have = bool(shutil.which("podman")) and subprocess.run(
        ["podman", "image", "exists", IMAGE], capture_output=True).returncode == 0
    runs.need(have, f"podman with the image {IMAGE} is needed: run `bash .ci/build_image.sh` (as root)")
    res = subprocess.run(["podman", "run", "--rm", IMAGE, "tfvocab", "--version"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


@pytest.fixture(scope="session")
def podman_run(podman_image, tmp_path_factory):
    run = runs.pipeline(tmp_path_factory.mktemp("nf_podman"), "podman", "test,podman")
    assert run.rc == 0, run.describe()
    return run


# sha256 over the package's .py files (relative path + content): the image holds this checkout's code
FINGERPRINT = """
import hashlib, pathlib, sys
root = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(__import__("tfvocab").__file__).parent
h = hashlib.sha256()
for p in sorted(root.rglob("*.py")):
    h.update(str(p.relative_to(root)).encode() + b"\\0" + p.read_bytes())
print(h.hexdigest())
"""


def test_image_runs_this_checkouts_tfvocab(podman_image):
    local = subprocess.run([str(runs.tool_env()["PATH"].split(":")[0] + "/tfvocab"), "--version"],
                           capture_output=True, text=True, check=True).stdout.strip()
    runs.note(f"podman: image {IMAGE}: {podman_image}; checkout: {local}")
    assert podman_image == local
    ours = subprocess.run([sys.executable, "-c", FINGERPRINT, str(runs.ROOT / "src/tfvocab")],
                          capture_output=True, text=True, check=True).stdout.strip()
    theirs = subprocess.run(["podman", "run", "--rm", IMAGE, "python", "-c", FINGERPRINT],
                            capture_output=True, text=True, check=True).stdout.strip()
    assert theirs == ours, "tfvocab:dev holds other code than src/tfvocab: rebuild it (bash .ci/build_image.sh)"


def test_every_task_completes_inside_the_image(podman_run):
    trace = podman_run.trace()
    assert trace and {t["status"] for t in trace} == {"COMPLETED"}, [(t["name"], t["status"]) for t in trace]
    assert {t["container"] for t in trace} == {IMAGE}, {t["container"] for t in trace}
    versions = (podman_run.outdir / "pipeline_info/tfvocab_software_versions.yml").read_text()
    assert "tfvocab:" in versions


def test_podman_run_writes_the_local_runs_summary(podman_run, local_run):
    assert runs.summary(podman_run.outdir) == runs.summary(local_run.outdir)
