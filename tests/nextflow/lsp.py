"""A minimal Language Server Protocol client for the Nextflow language server.

The official Nextflow language server (``java -jar language-server-all.jar``) speaks JSON-RPC 2.0
over stdio with ``Content-Length`` framing. This client starts it, initializes a workspace
rooted at a folder, opens each ``.nf`` / ``.config`` file and collects the
``textDocument/publishDiagnostics`` notifications until every opened file has reported (or a
timeout), then shuts the server down. No Nextflow installation is needed: the server embeds
Nextflow's own parser and checks syntax, names (undefined processes, variables), includes and
config options.

Usage::

    diags = check_files(jar, root, [root / "main.nf", root / "nextflow.config"])
    for d in diags.errors():
        print(d)          # main.nf:12: `FOO` is not defined
"""
from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

SEVERITY = {1: "error", 2: "warning", 3: "information", 4: "hint"}

#: Workspace settings sent with ``workspace/didChangeConfiguration`` and answered to
#: ``workspace/configuration`` (the names the VS Code extension uses: the server reads
#: ``nextflow.typeChecking``, ``nextflow.errorReportingMode``...). ``typeChecking`` turns on the
#: type checker (wrong number of process arguments, tuple components out of range, operators on
#: the wrong kind of channel); ``errorReportingMode`` "warnings" reports errors and warnings. The
#: plugin registry cannot be reached offline (hence the ignorable "Plugin ... does not exist").
DEFAULT_SETTINGS: dict[str, Any] = {
    "nextflow": {
        "debug": False,
        "errorReportingMode": "warnings",
        "files": {"exclude": [".git", ".nf-test", "work", ".nextflow", "results"]},
        "typeChecking": True,
    }
}


def settings(type_checking: bool = True) -> dict[str, Any]:
    """A copy of :data:`DEFAULT_SETTINGS` with type checking on or off."""
    import copy

    s = copy.deepcopy(DEFAULT_SETTINGS)
    s["nextflow"]["typeChecking"] = type_checking
    return s


@dataclass(frozen=True)
class Diagnostic:
    """One diagnostic: ``path`` (absolute), 1-based ``line``/``column``, severity name, message."""

    path: Path
    line: int
    column: int
    severity: str
    message: str

    def format(self, root: Path | None = None) -> str:
        shown = self.path
        if root is not None:
            try:
                shown = self.path.relative_to(root)
            except ValueError:
                pass
        return f"{shown}:{self.line}: {self.severity}: {self.message}"

    __str__ = format


class Diagnostics(dict):
    """``{path: [Diagnostic, ...]}`` for every file that reported; helpers to filter."""

    def all(self) -> list[Diagnostic]:
        return [d for ds in self.values() for d in ds]

    def errors(self, ignore: Iterable[str] = ()) -> list[Diagnostic]:
        """Error-severity diagnostics whose message contains none of the ``ignore`` substrings."""
        ignore = tuple(ignore)
        return [d for d in self.all()
                if d.severity == "error" and not any(s in d.message for s in ignore)]


def _uri(path: Path) -> str:
    return Path(path).resolve().as_uri()


def _path(uri: str) -> Path:
    from urllib.parse import unquote, urlparse
    return Path(unquote(urlparse(uri).path))


def language_id(path: Path) -> str:
    return "nextflow-config" if path.name.endswith(".config") else "nextflow"


class LanguageServerClient:
    """JSON-RPC over the stdio of ``java -jar <jar>``; a reader thread queues incoming messages."""

    def __init__(self, jar: str | os.PathLike, root: str | os.PathLike, *,
                 java: str | None = None, settings: dict | None = None,
                 log_path: str | os.PathLike | None = None):
        self.jar = Path(jar)
        self.root = Path(root).resolve()
        self.java = java or shutil.which("java") or "java"
        self.settings = DEFAULT_SETTINGS if settings is None else settings
        self.log_path = log_path
        self._next_id = 0
        self._inbox: queue.Queue = queue.Queue()
        self._responses: dict[int, dict] = {}
        self.diagnostics = Diagnostics()
        self.proc: subprocess.Popen | None = None

    # -- process + framing -------------------------------------------------------------------
    def start(self) -> None:
        stderr = open(self.log_path, "wb") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [self.java, "-Xshare:auto", "-XX:+UseSerialGC", "-jar", str(self.jar)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
            cwd=self.root)
        threading.Thread(target=self._read_loop, daemon=True).start()

    def _read_loop(self) -> None:
        out = self.proc.stdout
        while True:
            headers = {}
            while True:
                line = out.readline()
                if not line:
                    self._inbox.put(None)
                    return
                line = line.decode("ascii", "replace").strip()
                if not line:
                    break
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
            n = int(headers.get("content-length", 0))
            body = out.read(n)
            try:
                self._inbox.put(json.loads(body.decode("utf-8")))
            except json.JSONDecodeError:
                continue

    def _send(self, msg: dict) -> None:
        data = json.dumps(msg).encode("utf-8")
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(data) + data)
        self.proc.stdin.flush()

    def notify(self, method: str, params: Any = None) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any = None, timeout: float = 60.0) -> Any:
        self._next_id += 1
        rid = self._next_id
        self._send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        while rid not in self._responses:
            if not self.pump(deadline - time.monotonic()):
                raise TimeoutError(f"no response to {method} within {timeout:.0f} s")
        resp = self._responses.pop(rid)
        if "error" in resp:
            raise RuntimeError(f"{method} failed: {resp['error']}")
        return resp.get("result")

    def pump(self, timeout: float) -> bool:
        """Handle one incoming message (waiting up to ``timeout`` s); False on timeout/EOF."""
        try:
            msg = self._inbox.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return False
        if msg is None:
            raise RuntimeError(f"language server exited (status {self.proc.poll()})")
        if "id" in msg and "method" in msg:       # server -> client request
            self._answer(msg)
        elif "id" in msg:                          # response
            self._responses[msg["id"]] = msg
        elif msg.get("method") == "textDocument/publishDiagnostics":
            p = msg["params"]
            path = _path(p["uri"])
            self.diagnostics[path] = [
                Diagnostic(path, d["range"]["start"]["line"] + 1,
                           d["range"]["start"]["character"] + 1,
                           SEVERITY.get(d.get("severity", 1), "error"), d["message"])
                for d in p.get("diagnostics", [])]
        return True

    def _answer(self, msg: dict) -> None:
        result: Any = None
        if msg["method"] == "workspace/configuration":
            result = []
            for item in msg["params"].get("items", []):
                node: Any = self.settings
                for part in (item.get("section") or "").split("."):
                    if part:
                        node = node.get(part) if isinstance(node, dict) else None
                result.append(node)
        self._send({"jsonrpc": "2.0", "id": msg["id"], "result": result})

    # -- protocol ------------------------------------------------------------------------------
    def initialize(self, timeout: float = 120.0) -> None:
        root_uri = _uri(self.root)
        self.request("initialize", {
            "processId": os.getpid(),
            "rootUri": root_uri,
            "workspaceFolders": [{"uri": root_uri, "name": self.root.name}],
            "capabilities": {
                "textDocument": {"publishDiagnostics": {"relatedInformation": False}},
                "workspace": {"configuration": True, "workspaceFolders": True},
            },
        }, timeout=timeout)
        self.notify("initialized", {})
        self.notify("workspace/didChangeConfiguration", {"settings": self.settings})

    def open(self, path: Path) -> None:
        path = Path(path).resolve()
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": _uri(path), "languageId": language_id(path), "version": 1,
            "text": path.read_text()}})

    def wait_for(self, paths: Iterable[Path], timeout: float) -> set[Path]:
        """Pump messages until every path has diagnostics or ``timeout`` s pass; missing paths."""
        want = {Path(p).resolve() for p in paths}
        deadline = time.monotonic() + timeout
        while want - set(self.diagnostics) and time.monotonic() < deadline:
            self.pump(min(0.5, deadline - time.monotonic()))
        # drain what is already queued (re-publications after workspace indexing)
        while self.pump(0.2):
            pass
        return want - set(self.diagnostics)

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            if self.proc.poll() is None:
                self.request("shutdown", None, timeout=10)
                self.notify("exit", None)
                self.proc.wait(timeout=10)
        except Exception:
            pass
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                try:
                    stream.close()
                except Exception:
                    pass

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


def nextflow_files(root: str | os.PathLike) -> list[Path]:
    """Every ``.nf`` and ``.config`` file under ``root`` (skipping work/, results/, hidden folders
    and nf-test.config)."""
    root = Path(root)
    skip = {"work", "results", ".git", ".nextflow", ".nf-test", ".ci", "node_modules"}
    out = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).parts
        if any(part in skip or part.startswith(".") for part in rel[:-1]):
            continue
        if p.name == "nf-test.config":        # nf-test's own Groovy DSL, not a Nextflow config
            continue
        if p.is_file() and (p.suffix == ".nf" or p.suffix == ".config"):
            out.append(p)
    return out


def check_files(jar: str | os.PathLike, root: str | os.PathLike,
                files: Iterable[str | os.PathLike] | None = None, *,
                timeout: float = 120.0, log_path: str | os.PathLike | None = None,
                type_checking: bool = True) -> tuple[Diagnostics, set[Path]]:
    """Open ``files`` (default: every .nf/.config under ``root``) in a fresh server.

    Returns ``(diagnostics by file, files that never reported within timeout)``.
    """
    root = Path(root).resolve()
    files = [Path(f).resolve() for f in (files if files is not None else nextflow_files(root))]
    with LanguageServerClient(jar, root, log_path=log_path, settings=settings(type_checking)) as client:
        client.initialize(timeout=timeout)
        for f in files:
            client.open(f)
        missing = client.wait_for(files, timeout)
        diags = Diagnostics({p: ds for p, ds in client.diagnostics.items()})
    return diags, missing
