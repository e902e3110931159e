"""bench/gpu.py runs its measurements' code on CPU (smoke) and skips cleanly without a GPU."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*args, cwd):
    return subprocess.run([sys.executable, "-P", str(ROOT / "bench" / "gpu.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_gpu_bench_skips_without_cuda(tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    r = _run(cwd=tmp_path)
    assert r.returncode == 0 and "no CUDA device" in r.stdout
    assert not (tmp_path / "gpu_bench.json").exists()


def test_gpu_bench_code_runs_on_cpu(tmp_path):
    r = _run("--allow-cpu", "--genes", "300", "--tfs", "8", "--steps", "2", "--warmup", "1",
             "--out", "out.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads((tmp_path / "out.json").read_text())["results"]
    assert res["train_fp32"]["pairs_per_s"] > 0 and res["train_fp32"]["steps"] == 2
    assert res["predict_fp32"]["n_pairs"] == 300 * 299 // 2
