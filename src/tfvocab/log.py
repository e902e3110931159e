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


def progress(iterable: Iterable[T], desc: str, total: int | None = None, unit: str = "it") -> Iterable[T]:
    """A tqdm progress bar on stderr; silent when stderr is not a terminal or logging is quiet."""
    disable = (not sys.stderr.isatty()) or get_logger().getEffectiveLevel() > logging.INFO
    return tqdm(iterable, desc=desc, total=total, unit=unit, disable=disable, file=sys.stderr,
                dynamic_ncols=True, leave=False)
