"""Logging with timings and progress bars (stderr), shared by every step."""
from __future__ import annotations

import contextlib
import logging
import sys
import time
from typing import Iterable, Iterator, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")
LOGGER_NAME = "tfvocab"


def get_logger(name: str | None = None) -> logging.Logger:
    """Return the package logger or a child of it (``tfvocab.<name>``)."""
    return logging.getLogger(LOGGER_NAME if not name else f"{LOGGER_NAME}.{name}")


def setup_logging(verbosity: int = 0) -> None:
    """Configure the ``tfvocab`` logger: INFO by default, DEBUG with ``-v``, WARNING with ``-q``."""
    level = logging.INFO - 10 * verbosity
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(max(logging.DEBUG, min(logging.ERROR, level)))
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(name)s] %(message)s",
                                               datefmt="%H:%M:%S"))
        logger.addHandler(handler)
    # records still propagate: an application (or pytest caplog) that configures the root
    # logger sees them too


@contextlib.contextmanager
def timed(message: str, logger: logging.Logger | None = None) -> Iterator[None]:
    """Log ``message`` on entry and ``message: done in X.XX s`` on exit."""
    logger = logger or get_logger()
    logger.info("%s ...", message)
    t0 = time.perf_counter()
    yield
    logger.info("%s: done in %.2f s", message, time.perf_counter() - t0)


#: Seconds between two progress lines when stderr is not a terminal (batch jobs, Nextflow logs).
LOG_INTERVAL = 30.0


def _duration(seconds: float) -> str:
    """``75.2`` -> ``1m15s``; ``3725`` -> ``1h02m``; under a minute ``12.3s``."""
    if not seconds == seconds or seconds in (float("inf"), float("-inf")):  # NaN / inf
        return "?"
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f}s"
    m, s = divmod(int(round(seconds)), 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


def progress_line(desc: str, n: int, total: int | None, elapsed: float, unit: str = "it",
                  postfix: str = "") -> str:
    """One progress line: ``desc: n/total unit (p%), rate unit/s, elapsed, ETA``.

    ``n``: items done; ``total``: expected items (None when unknown: no percentage or ETA);
    ``elapsed``: seconds since the start.
    """
    rate = n / elapsed if elapsed > 0 else float("nan")
    if rate == rate and rate >= 1:
        rate_txt = f"{rate:.3g} {unit}/s"
    elif rate == rate and rate > 0:
        rate_txt = f"{_duration(1.0 / rate)}/{unit}"
    else:
        rate_txt = f"? {unit}/s"
    if total:
        head = f"{desc}: {n}/{total} {unit} ({100.0 * n / total:.0f}%)"
        eta = (total - n) / rate if rate == rate and rate > 0 else float("nan")
        tail = f", ETA {_duration(eta)}" if n < total else ""
    else:
        head, tail = f"{desc}: {n} {unit}", ""
    text = f"{head}, {rate_txt}, elapsed {_duration(elapsed)}{tail}"
    return f"{text}; {postfix}" if postfix else text


class LogProgress:
    """Progress for a log file: iterates ``iterable`` and logs :func:`progress_line` every
    ``every`` items or ``interval`` seconds (whichever comes first), and once at the end.

    The final line is written only when a periodic line was (or the loop took at least
    ``min_final`` seconds), so short loops stay quiet. Has tqdm's ``set_postfix`` /
    ``set_postfix_str`` / ``update`` / ``close`` so code written for a tqdm bar works
    unchanged. ``clock``: the time function (tests pass a fake one).
    """

    def __init__(self, iterable: Iterable[T] | None, desc: str, total: int | None = None,
                 unit: str = "it", every: int | None = None, interval: float | None = LOG_INTERVAL,
                 logger: logging.Logger | None = None, clock=time.monotonic,
                 min_final: float = 10.0):
        self.iterable = iterable
        self.desc = desc
        if total is None and iterable is not None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except TypeError:
                total = None
        self.total = total
        self.unit = unit
        self.every = every
        self.interval = interval
        self.logger = logger or get_logger()
        self.clock = clock
        self.min_final = min_final
        self._emitted = False
        self.n = 0
        self.postfix = ""
        self._t0 = clock()
        self._last_t = self._t0
        self._last_n = 0
        self._closed = False

    def __iter__(self) -> Iterator[T]:
        try:
            for item in self.iterable:  # type: ignore[union-attr]
                yield item
                self.update(1)
        finally:
            self.close()

    def __len__(self) -> int:
        return self.total or 0

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def set_postfix(self, ordered_dict=None, refresh: bool = True, **kwargs) -> None:
        """Extra ``key=value`` text on the next lines (e.g. ``loss=0.412``)."""
        items = dict(ordered_dict or {}, **kwargs)
        parts = []
        for k, v in items.items():
            parts.append(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}")
        self.postfix = ", ".join(parts)

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self.postfix = str(s)

    def update(self, n: int = 1) -> None:
        """Count ``n`` more items; log a line when ``every`` items or ``interval`` s have passed."""
        self.n += n
        now = self.clock()
        due = (self.every is not None and self.n - self._last_n >= self.every) or (
            self.interval is not None and now - self._last_t >= self.interval)
        if due and (self.total is None or self.n < self.total):
            self._emit(now)

    def _emit(self, now: float) -> None:
        self.logger.info("%s", progress_line(self.desc, self.n, self.total, now - self._t0,
                                             self.unit, self.postfix))
        self._last_t, self._last_n = now, self.n
        self._emitted = True

    def close(self) -> None:
        """Log the final line once (count, rate, elapsed): when something new was counted and
        the loop was long enough to have logged before (or took ``min_final`` s)."""
        if self._closed:
            return
        self._closed = True
        now = self.clock()
        if self.n > self._last_n and (self._emitted or now - self._t0 >= self.min_final):
            self._emit(now)


def progress(iterable: Iterable[T], desc: str, total: int | None = None, unit: str = "it",
             every: int | None = None, interval: float | None = LOG_INTERVAL) -> Iterable[T]:
    """Progress over ``iterable`` on stderr.

    On a terminal: a tqdm bar. Otherwise (batch jobs, Nextflow ``.command.log``, pipes): an INFO
    line with count, rate, elapsed time and ETA every ``every`` items or ``interval`` seconds
    (default 30 s), and one when done if the loop was that long (:class:`LogProgress`). Silent when logging is quieter
    than INFO (``-q``). Either object has ``set_postfix`` (shown on the bar / the lines).
    """
    quiet = get_logger().getEffectiveLevel() > logging.INFO
    if sys.stderr.isatty() and not quiet:
        return tqdm(iterable, desc=desc, total=total, unit=unit, file=sys.stderr,
                    dynamic_ncols=True, leave=False)
    if quiet:
        return tqdm(iterable, desc=desc, total=total, unit=unit, disable=True)
    return LogProgress(iterable, desc, total=total, unit=unit, every=every, interval=interval)
