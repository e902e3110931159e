"""tfvocab.log.progress: a tqdm bar on a terminal, timed log lines everywhere else."""
from __future__ import annotations

import logging
import re

import pytest

from tfvocab import log as L


class FakeClock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def _lines(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "tfvocab"]


def test_log_progress_lines_every_interval_with_rate_and_eta(caplog):
    clock = FakeClock()
    caplog.set_level(logging.INFO, logger="tfvocab")
    bar = L.LogProgress(range(100), "epoch 1", unit="batch", interval=30.0, clock=clock)
    for i, _ in enumerate(bar):
        clock.t += 1.0                              # one batch per second
        if i == 49:
            bar.set_postfix(loss=0.41234)
    lines = _lines(caplog)
    # a line at 30 s, 60 s, 90 s and the final one at 100 batches
    assert len(lines) == 4, lines
    assert lines[0].startswith("epoch 1: 30/100 batch (30%), 1 batch/s, elapsed 30.0s, ETA 1m10s")
    assert "loss=0.4123" in lines[1] and "loss" not in lines[0]
    assert lines[-1].startswith("epoch 1: 100/100 batch (100%)") and "ETA" not in lines[-1]


def test_log_progress_every_n_items_and_unknown_total(caplog):
    clock = FakeClock()
    caplog.set_level(logging.INFO, logger="tfvocab")
    items = (i for i in range(25))                  # no len(): total unknown
    for _ in L.LogProgress(items, "genes", every=10, interval=None, clock=clock):
        clock.t += 0.5
    lines = _lines(caplog)
    assert [re.match(r"genes: (\d+) it", x).group(1) for x in lines] == ["10", "20", "25"]
    assert all("ETA" not in x and "%" not in x for x in lines)


def test_slow_items_report_seconds_per_item(caplog):
    clock = FakeClock()
    caplog.set_level(logging.INFO, logger="tfvocab")
    bar = L.LogProgress(None, "bigWigs", total=3, unit="bigWig", interval=30.0, clock=clock)
    clock.t += 95.0
    bar.update()
    assert "1/3 bigWig (33%), 1m35s/bigWig" in _lines(caplog)[0]
    assert "ETA 3m10s" in _lines(caplog)[0]


def test_progress_is_a_log_when_stderr_is_not_a_terminal(monkeypatch, caplog):
    monkeypatch.setattr(L.sys.stderr, "isatty", lambda: False, raising=False)
    caplog.set_level(logging.INFO, logger="tfvocab")
    it = L.progress(range(3), "chunks")
    assert isinstance(it, L.LogProgress)
    assert list(it) == [0, 1, 2]
    assert not _lines(caplog)                       # a quick loop stays quiet


def test_a_slow_loop_without_periodic_lines_still_reports_when_done(caplog):
    clock = FakeClock()
    caplog.set_level(logging.INFO, logger="tfvocab")
    for _ in L.LogProgress(range(4), "genes", interval=30.0, clock=clock):
        clock.t += 4.0                              # 16 s in all: no 30 s line, but > 10 s
    assert [x.split(",")[0] for x in _lines(caplog)] == ["genes: 4/4 it (100%)"]


def test_progress_is_a_tqdm_bar_on_a_terminal(monkeypatch, caplog):
    class TTY:
        def isatty(self):
            return True

        def write(self, s):
            return len(s)

        def flush(self):
            pass

    monkeypatch.setattr(L.sys, "stderr", TTY())
    caplog.set_level(logging.INFO, logger="tfvocab")
    bar = L.progress(range(3), "chunks")
    assert isinstance(bar, L.tqdm) and not bar.disable
    assert list(bar) == [0, 1, 2]
    assert not _lines(caplog)                       # the bar, not log lines


def test_progress_is_silent_when_quiet(monkeypatch, caplog):
    monkeypatch.setattr(L.sys.stderr, "isatty", lambda: False, raising=False)
    caplog.set_level(logging.WARNING, logger="tfvocab")
    assert list(L.progress(range(5), "x")) == list(range(5))
    assert not _lines(caplog)


@pytest.mark.parametrize("sec,text", [(12.34, "12.3s"), (75.2, "1m15s"), (3725, "1h02m"),
                                      (float("nan"), "?")])
def test_duration(sec, text):
    assert L._duration(sec) == text
