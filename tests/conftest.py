"""Shared pytest fixtures: simulated datasets built once per test session.

``tiny_sim`` / ``small_sim`` run ``tfvocab.simulate.dataset.run(preset, seed=0, outdir=tmp)`` once and
return the output folder (a ``pathlib.Path``) holding genome.fa(.fai), annotation.gff3,
bigwig/*.bw, samplesheet.csv, coexpression.tsv and truth/ (docs/formats.md, "simulate").
Treat the folders as read-only: they are shared by every test in the session.
"""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")


def _simulate(tmp_path_factory, preset: str):
    from tfvocab.simulate.dataset import run

    outdir = tmp_path_factory.mktemp(f"sim_{preset}")
    run(preset=preset, seed=0, outdir=outdir)
    return outdir


@pytest.fixture(scope="session")
def tiny_sim(tmp_path_factory):
    """Folder of ``tfvocab simulate --preset tiny --seed 0`` (2 chromosomes, ~150 genes, 8 TFs)."""
    return _simulate(tmp_path_factory, "tiny")


@pytest.fixture(scope="session")
def small_sim(tmp_path_factory):
    """Folder of ``tfvocab simulate --preset small --seed 0`` (~2,000 genes, 40 TFs; ~10-30 s)."""
    return _simulate(tmp_path_factory, "small")


@pytest.fixture(scope="session")
def small_chain(small_sim, tmp_path_factory):
    """The data steps (promoters -> extract -> merge -> normalize -> tokenize -> pairs, step
    defaults, seed 0) on ``small_sim``, run once via ``tfvocab.demo.data_steps``.

    Returns the dict of main files (``promoters``, ``signal``, ``normalized``, ``tokens``,
    ``pairs``, ``truth``). Read-only, shared by the session.
    """
    from tfvocab.demo import data_steps

    return data_steps(small_sim, tmp_path_factory.mktemp("small_chain"), seed=0)
