"""All-or-nothing step outputs: one writer per folder, a manifest written last.

A step writes its outputs through :func:`step_outputs`::

    with step_outputs(outdir, "promoters", params) as out:
        write_promoters(out.path("promoters.tsv"), ...)
        ...
    out.paths  # {name: final path}

1. **Lock**: ``OUTDIR/.tfvocab.lock`` is held (``flock``) for the whole step; a second run writing
   into the same folder fails at once with a message naming the running one. A lock left by a
   killed run is not held by anyone (the kernel releases it) and is taken over.
2. **Leftovers** of killed runs (staging folders, ``*.tfvocab.tmp`` files) are removed once the
   lock is held.
3. **Staging**: files are written into ``OUTDIR/.tfvocab-staging-<step>-XXXX/``; on any error,
   ``Ctrl-C`` or a full disk the staging folder is removed and the previous outputs stay as they
   were.
4. **Publishing**: a marker ``.tfvocab-publishing-<name>.json`` listing the files is written, the
   step's previous manifest is removed, every staged file is renamed into place (files of the
   previous run of this step that this run did not write are removed), then the manifest
   ``<name>.manifest.json`` (file sizes and SHA-256, step, parameters, tfvocab version, and the
   step's ``warnings`` about its data when it had any: ``out.warnings``) is
   written and the marker removed. ``name`` is the step, or ``<step>.<tag>`` for steps that
   several runs share a folder with (extract, one run per TF).

Readers call :func:`check_input` on every input artifact: a file listed in a publishing marker
(its writer was killed mid-publish), a file no manifest of its folder lists while the folder has
manifests, or a file whose size or SHA-256 differs from its manifest entry is refused with a
one-line error. A file in a folder without any manifest or marker (a copy staged by a workflow
manager, or a file placed by hand) is accepted: its own kind, geometry and lineage are still
checked by :mod:`tfvocab.formats`.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator, Mapping

from . import __version__
from .errors import TfvocabError
from .io import TMP_SUFFIX, _jsonable
from .log import get_logger

log = get_logger("publish")

LOCK = ".tfvocab.lock"
STAGING = ".tfvocab-staging-"
MARKER = ".tfvocab-publishing-"
MANIFEST = ".manifest.json"
_BLOCK = 1 << 20

#: what the running process is doing (for the message printed on Ctrl-C): the step being
#: published (``step``, ``outdir``; train adds ``checkpoint``, ``epoch``) and the demo's step
CURRENT: dict[str, Any] = {}
CURRENT_DEMO: dict[str, Any] = {}


# ----------------------------------------------------------------------------------------------
# hashing


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_BLOCK), b""):
            h.update(block)
    return h.hexdigest()


_VERIFIED: dict[tuple, str] = {}


def _cached_sha(path: Path) -> str:
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns, st.st_ino)
    if key not in _VERIFIED:
        _VERIFIED[key] = sha256_file(path)
    return _VERIFIED[key]


# ----------------------------------------------------------------------------------------------
# disk errors


def is_disk_full(exc: BaseException, where: str | os.PathLike | None = None) -> bool:
    """Whether ``exc`` came from a full disk or quota (errno, h5py/torch message, or free space)."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc).lower()
    if "no space left" in text or "disk quota" in text or "errno = 28" in text:
        return True
    if where is not None and isinstance(exc, (OSError, RuntimeError)):
        with contextlib.suppress(OSError):
            return shutil.disk_usage(where).free < (1 << 16)
    return False


def disk_full_error(outdir: Path, step: str) -> TfvocabError:
    return TfvocabError(f"no space left on the device while writing the outputs of "
                        f"`tfvocab {step}`; nothing was published and the previous outputs are "
                        f"unchanged", path=str(outdir),
                        hint="free some space or choose another --outdir, then rerun")


# ----------------------------------------------------------------------------------------------
# the lock


@contextlib.contextmanager
def folder_lock(outdir: Path, step: str) -> Iterator[None]:
    """Hold ``OUTDIR/.tfvocab.lock`` (exclusive, non-blocking) for the duration of the block."""
    path = outdir / LOCK
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise TfvocabError(f"cannot create the lock file ({exc.strerror})", path=str(path),
                               hint="check that --outdir is writable") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            holder = ""
            with contextlib.suppress(Exception):
                info = json.loads(Path(path).read_text() or "{}")
                holder = (f" (`tfvocab {info.get('step')}`, pid {info.get('pid')} on "
                          f"{info.get('host')}, started {info.get('started')})")
            raise TfvocabError(f"another tfvocab run is writing into this folder{holder}",
                               path=str(outdir),
                               hint="wait for it to finish, or use another --outdir") from None
        # the holder before us removes the file when it is done: retry if we locked a removed file
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        info = {"step": step, "pid": os.getpid(), "host": socket.gethostname(),
                "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        with contextlib.suppress(OSError):       # informative only (a full disk may refuse it)
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)          # removed while still held: no one can lock a stale file
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def remove_leftovers(outdir: Path) -> list[str]:
    """Remove staging folders and temporary files of killed runs (call with the lock held)."""
    removed = []
    for p in sorted(outdir.iterdir()):
        if p.name.startswith(STAGING) and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p.name)
        elif p.name.startswith(".") and p.name.endswith(TMP_SUFFIX) and p.is_file():
            with contextlib.suppress(OSError):
                p.unlink()
                removed.append(p.name)
    if removed:
        log.info("removed %d leftover(s) of an interrupted run in %s: %s", len(removed), outdir,
                 ", ".join(removed[:5]))
    return removed


# ----------------------------------------------------------------------------------------------
# manifests


def manifest_path(outdir: Path, name: str) -> Path:
    return outdir / f"{name}{MANIFEST}"


def read_manifest(path: Path) -> dict | None:
    try:
        d = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return d if isinstance(d, dict) and isinstance(d.get("files"), dict) else None


def _write_json_atomic(path: Path, obj: Any) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(_jsonable(obj), fh, indent=2, sort_keys=True)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class StepOutputs:
    """The outputs of one step run, staged until :meth:`publish` (used via :func:`step_outputs`)."""

    def __init__(self, outdir: Path, step: str, params: Mapping[str, Any], name: str, staging: Path):
        self.outdir, self.step, self.params, self.name, self.staging = outdir, step, params, name, staging
        self.paths: dict[str, Path] = {}
        self._adopted: list[str] = []
        self.warnings: list[str] = []     # recorded in the manifest (``warnings``) when any
        #: more top-level manifest entries (JSON-able), e.g. extract's per-TF ``health``
        self.extra: dict[str, Any] = {}

    def path(self, rel: str) -> Path:
        """Where to write output ``rel`` (a path relative to --outdir) while the step runs."""
        p = self.staging / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def final(self, rel: str) -> Path:
        """Where output ``rel`` will be once published."""
        return self.outdir / rel

    def adopt(self, rel: str) -> None:
        """List a file the step wrote in place (e.g. a checkpoint) in the manifest too."""
        self._adopted.append(rel)

    def _staged(self) -> list[str]:
        return sorted(str(p.relative_to(self.staging)) for p in self.staging.rglob("*") if p.is_file()
                      and not p.name.endswith(TMP_SUFFIX))

    def publish(self) -> dict[str, Path]:
        staged = self._staged()
        files = {}
        for rel in staged:
            p = self.staging / rel
            files[rel] = {"size": p.stat().st_size, "sha256": sha256_file(p)}
        for rel in self._adopted:
            p = self.outdir / rel
            if p.exists() and rel not in files:
                files[rel] = {"size": p.stat().st_size, "sha256": sha256_file(p)}
        mpath = manifest_path(self.outdir, self.name)
        previous = read_manifest(mpath) or {"files": {}}
        stale = sorted(set(previous["files"]) - set(files))
        marker = self.outdir / f"{MARKER}{self.name}.json"
        _write_json_atomic(marker, {"step": self.step, "files": sorted(files), "removing": stale})
        with contextlib.suppress(FileNotFoundError):
            mpath.unlink()
        for rel in staged:
            dest = self.outdir / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.is_dir() and not dest.is_symlink():
                shutil.rmtree(dest)
            os.replace(self.staging / rel, dest)
        for rel in stale:
            with contextlib.suppress(OSError):
                (self.outdir / rel).unlink()
        manifest = {**self.extra, "tool": "tfvocab", "version": __version__, "step": self.step,
                    "name": self.name, "params": dict(self.params), "files": files}
        if self.warnings:
            manifest["warnings"] = list(self.warnings)
        _write_json_atomic(mpath, manifest)
        marker.unlink()
        shutil.rmtree(self.staging, ignore_errors=True)
        self.paths = {rel: self.outdir / rel for rel in files}
        log.debug("published %d file(s) of %s into %s", len(files), self.name, self.outdir)
        return self.paths


@contextlib.contextmanager
def step_outputs(outdir: str | os.PathLike, step: str, params: Mapping[str, Any] | None = None,
                 tag: str | None = None) -> Iterator[StepOutputs]:
    """Stage a step's outputs under ``outdir`` and publish them together at the end (module doc).

    ``tag`` distinguishes runs of one step that share a folder (the manifest is
    ``<step>.<tag>.manifest.json``). A previous complete run of the same step and tag is
    replaced (its files that this run does not write are removed); this is logged.
    """
    outdir = Path(outdir)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TfvocabError(f"cannot create the output folder ({exc.strerror})", path=str(outdir),
                           hint="check the path and its permissions") from None
    name = step if not tag else f"{step}.{tag}"
    with folder_lock(outdir, step):
        remove_leftovers(outdir)
        mpath = manifest_path(outdir, name)
        if mpath.exists():
            log.info("replacing the outputs of a previous `tfvocab %s` run in %s", step, outdir)
        staging = Path(tempfile.mkdtemp(prefix=f"{STAGING}{name}-", dir=outdir))
        out = StepOutputs(outdir, step, dict(params or {}), name, staging)
        CURRENT.clear()
        CURRENT.update(step=step, outdir=str(outdir))
        try:
            yield out
            out.publish()
        except BaseException as exc:     # CURRENT is kept: the CLI's Ctrl-C message reads it
            shutil.rmtree(staging, ignore_errors=True)
            if isinstance(exc, Exception) and not isinstance(exc, TfvocabError) \
                    and is_disk_full(exc, outdir):
                raise disk_full_error(outdir, step) from None
            raise
        CURRENT.clear()


# ----------------------------------------------------------------------------------------------
# checking inputs


def _markers(folder: Path) -> list[dict]:
    out = []
    for p in folder.glob(f"{MARKER}*.json"):
        with contextlib.suppress(OSError, ValueError):
            out.append(json.loads(p.read_text()))
    return out


def check_input(path: str | os.PathLike) -> None:
    """Refuse an input artifact that is not a complete, published output (module docstring)."""
    path = Path(path)
    real = path.resolve()
    # the folder holding the manifest: the file's own, or one level up (e.g. simulate's truth/)
    for folder in (real.parent, real.parent.parent):
        rel = str(real.relative_to(folder))
        for m in _markers(folder):
            if rel in m.get("files", []) or rel in m.get("removing", []):
                raise TfvocabError(
                    f"incomplete output: `tfvocab {m.get('step')}` was stopped while publishing "
                    f"this folder", path=str(path),
                    hint=f"rerun `tfvocab {m.get('step')}` into {folder}")
        manifests = [read_manifest(p) for p in sorted(folder.glob(f"*{MANIFEST}"))]
        manifests = [m for m in manifests if m is not None]
        if not manifests:
            continue
        entries = [(m, m["files"][rel]) for m in manifests if rel in m["files"]]
        if not entries:
            if folder == real.parent:
                steps = sorted({str(m.get("step")) for m in manifests})
                raise TfvocabError(
                    "not listed in the manifest of its folder (left over from an earlier run, "
                    f"or copied in by hand); the folder holds the outputs of {', '.join(steps)}",
                    path=str(path), hint="rerun the step that writes it, or move the file elsewhere")
            continue
        size = real.stat().st_size
        if not any(e.get("size") == size for _, e in entries) or \
                not any(e.get("sha256") == _cached_sha(real) for _, e in entries):
            m = entries[0][0]
            raise TfvocabError(
                f"changed since `tfvocab {m.get('step')}` published it (size or SHA-256 differs "
                f"from {manifest_path(folder, str(m.get('name')))}): a mix of two runs?",
                path=str(path), hint=f"rerun `tfvocab {m.get('step')}` into {folder}")
        return


def folder_complete(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds at least one manifest, no publishing marker, and every file its
    manifests list with the recorded size and SHA-256 (a complete, unmodified step output)."""
    folder = Path(folder)
    if not folder.is_dir() or any(folder.glob(f"{MARKER}*.json")):
        return False
    manifests = [read_manifest(p) for p in sorted(folder.glob(f"*{MANIFEST}"))]
    if not manifests or any(m is None for m in manifests):
        return False
    for m in manifests:
        for rel, entry in m["files"].items():
            p = folder / rel
            if not p.is_file() or p.stat().st_size != entry.get("size") \
                    or _cached_sha(p) != entry.get("sha256"):
                return False
    return True
