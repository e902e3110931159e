"""The images: what each Dockerfile installs, the GPU smoke command, the workflow that publishes
them, and the tags the pipeline names (no Docker here: the files are read)."""
from __future__ import annotations

import re
import subprocess
import sys

import yaml

import nfparse as nf
from pipeline import ROOT, config_params

CPU = (ROOT / "containers/Dockerfile").read_text()
GPU = (ROOT / "containers/Dockerfile.gpu").read_text()


def _torch_installs(dockerfile: str) -> list[str]:
    return [ln.strip() for ln in dockerfile.splitlines() if re.search(r"pip install .*\btorch==", ln)]


def test_cpu_image_takes_torch_from_the_cpu_index_and_gpu_image_the_cuda_build_from_pypi():
    cpu, gpu = _torch_installs(CPU), _torch_installs(GPU)
    # the CPU index, through a build argument whose default it is (a CI build may point elsewhere)
    assert cpu == ["&& pip install --index-url ${TORCH_INDEX_URL} torch==2.13.0"]
    assert "ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu" in CPU.splitlines()
    assert "ARG BASE_IMAGE=python:3.11-slim" in CPU.splitlines() and "FROM ${BASE_IMAGE}" in CPU.splitlines()
    # on Linux x86_64 plain PyPI torch is the CUDA build: no index that may not carry this version
    assert len(gpu) == 1 and "--index-url" not in gpu[0] and "--extra-index-url" not in gpu[0]
    assert re.search(r"pip install torch==2\.13\.0\b", gpu[0])
    assert "torch.version.cuda" in GPU, "the build fails if torch is not a CUDA build"
    assert "NVIDIA_DRIVER_CAPABILITIES=compute,utility" in GPU
    assert re.search(r'torch\.cuda\.is_available\(\) and torch\.version\.cuda is None', CPU)


def test_gpu_image_has_the_smoke_command(tmp_path):
    script = ROOT / "containers/tfvocab-gpu-check"
    assert "COPY containers/tfvocab-gpu-check /usr/local/bin/tfvocab-gpu-check" in GPU
    assert "torch.cuda.is_available()" in script.read_text()
    # here (CPU torch, no GPU) it must fail, with a message that says why
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert run.returncode == 1 and "tfvocab-gpu-check:" in run.stderr
    assert ("CPU-only build" in run.stderr) if "+cpu" in __import__("torch").__version__ else ("sees no GPU" in run.stderr)


def test_release_workflow_builds_both_images_and_pushes_them_on_version_tags():
    wf = yaml.safe_load((ROOT / ".github/workflows/containers.yml").read_text())
    on = wf[True] if True in wf else wf["on"]          # YAML reads the key `on` as True
    assert "v*.*.*" in on["push"]["tags"] and "pull_request" in on
    job = wf["jobs"]["image"]
    files = {m["dockerfile"]: m["suffix"] for m in job["strategy"]["matrix"]["include"]}
    assert files == {"containers/Dockerfile": "", "containers/Dockerfile.gpu": "-gpu"}
    push = [s for s in job["steps"] if s.get("name") == "push"][0]
    assert push["if"] == "startsWith(github.ref, 'refs/tags/v')" and push["with"]["push"] is True
    assert push["with"]["tags"] == "ghcr.io/${{ github.repository_owner }}/tfvocab:${{ steps.version.outputs.version }}${{ matrix.suffix }}"
    assert wf["permissions"]["packages"] == "write"
    # the tags pushed are the defaults the pipeline pulls
    version = nf.literal(nf.top_level_params(ROOT / "nextflow.config").get("version", "false"))
    manifest = re.search(r"(?m)^\s*version\s*=\s*'([^']+)'", (ROOT / "nextflow.config").read_text()).group(1)
    assert version is False
    assert config_params()["tfvocab_container"] == f"ghcr.io/tfvocab/tfvocab:{manifest}"
    assert config_params()["tfvocab_container_gpu"] == f"ghcr.io/tfvocab/tfvocab:{manifest}-gpu"
    # and the modules' own default image is the same release
    for main in (ROOT / "modules/local").glob("*/main.nf"):
        assert f"container 'ghcr.io/tfvocab/tfvocab:{manifest}'" in main.read_text(), main.parent.name


def test_nf_test_workflow_builds_the_image_the_test_profile_names():
    wf = (ROOT / ".github/workflows/nf-test.yml").read_text()
    test = nf.profile_params(ROOT / "nextflow.config")["test"]
    assert f"docker build -f containers/Dockerfile -t {nf.literal(test['tfvocab_container'])} ." in wf
