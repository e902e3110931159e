"""Make the helpers of tests/nextflow (lsp.py, nfparse.py) importable by its tests."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytest  # noqa: E402

import runs  # noqa: E402


@pytest.fixture(scope="session")
def nextflow_ready():
    """Nextflow 24.10.0 and the nf-schema stand-in installed (`.ci/nextflow.sh --setup-only`)."""
    why = runs.setup_nextflow()
    runs.need(not why, why)
    return runs.NEXTFLOW


@pytest.fixture(scope="session")
def nf_launch(tmp_path_factory):
    """The launch folder of the local-executor session that the -resume tests share."""
    return tmp_path_factory.mktemp("nf_local")


@pytest.fixture(scope="session")
def local_run(nextflow_ready, nf_launch):
    """`-profile test` with the local executor, run once per test session (the runs the
    -resume / kill / bad-input tests and the podman and SLURM runs are compared with)."""
    run = runs.pipeline(nf_launch, "local", "test")
    assert run.rc == 0, run.describe()
    return run


_PIPELINE_SECONDS: list[float] = []


def pytest_runtest_logreport(report):
    """Wall time of the real pipeline runs (tests marked `pipeline`, their fixtures included)."""
    if "pipeline" in report.keywords:
        _PIPELINE_SECONDS.append(report.duration)


def pytest_terminal_summary(terminalreporter):
    if runs.SUMMARY:
        terminalreporter.section("pipeline runs")
        for line in runs.SUMMARY:
            terminalreporter.write_line(line)
    if _PIPELINE_SECONDS:
        terminalreporter.write_line(f"pipeline runs (tests/nextflow/test_run_*.py): {sum(_PIPELINE_SECONDS):.0f} s wall")
