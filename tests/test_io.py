"""Atomic outputs and provenance helpers."""
import os

import pytest

from tfvocab.io import atomic_path


def test_atomic_path_leaves_nothing_on_failure_and_uses_umask_mode(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with atomic_path(target) as tmp:
        tmp.write_text("ok")
    assert target.read_text() == "ok"
    umask = os.umask(0); os.umask(umask)
    assert (target.stat().st_mode & 0o777) == (0o666 & ~umask)
