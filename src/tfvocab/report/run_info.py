"""Run section: the inputs' provenance (manifest entries, file attributes) and the software."""
from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Mapping

from .. import __version__
from .files import read_json
from .markup import esc, kv_table, missing


def _manifest_entry(path: Path) -> dict:
    """Step, version and parameters of the publish manifest that lists ``path`` ({} if none)."""
    from ..publish import MANIFEST, read_manifest

    for m in sorted(path.parent.glob(f"*{MANIFEST}")):
        d = read_manifest(m)
        if d and path.name in d.get("files", {}):
            return {"step": d.get("step"), "version": d.get("version"), "params": d.get("params", {})}
    return {}


def file_provenance(path: Path) -> dict:
    """The provenance record of one output file ({} when it has none).

    The publish manifest of the file's folder when it lists the file; else HDF5 artifacts and
    ``model.pt`` through their :mod:`tfvocab.formats` readers, JSON files' top-level
    ``provenance`` key, or the ``<file>.json`` sidecar.
    """
    path = Path(path)
    try:
        entry = _manifest_entry(path)
        if entry:
            return entry
        if path.suffix in (".h5", ".pt"):
            from .. import formats

            name = path.name
            if name == "model.pt":
                obj = formats.read_model(path)
                return {"step": "train", "version": obj.get("version"), "params": obj.get("config", {})}
            if name == "checkpoint.pt":
                obj = formats.read_checkpoint(path)
                return {"step": "train", "version": obj.get("version"), "params": obj.get("params", {})}
            if name == "normalized.h5":
                with formats.NormalizedFile(path) as f:
                    return dict(f.provenance)
            if name == "signal.h5":
                with formats.SignalFile(path) as f:
                    return dict(f.provenance)
            if name.startswith("signal.") and name.endswith(".h5"):
                return dict(formats.read_track(path).provenance)
            if name == "tokens.h5":
                return dict(formats.read_tokens(path).get("provenance", {}))
            return {}
        sidecar = path.with_name(path.name + ".json")
        if sidecar.exists():
            return read_json(sidecar)
        if path.suffix == ".json":
            d = read_json(path)
            if isinstance(d, Mapping) and isinstance(d.get("provenance"), Mapping):
                return dict(d["provenance"])
    except Exception as exc:  # unreadable provenance is reported, not fatal
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {}


def section_run(files: Mapping[str, list[Path]], inputs: list[Path]) -> str:
    import importlib.metadata as md

    versions = {"tfvocab": __version__, "python": platform.python_version()}
    for pkg in ("torch", "numpy", "pandas", "h5py", "igraph", "networkx", "matplotlib", "scikit-learn"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = "not installed"
    parts = ["<h3>Inputs</h3><ul>" + "".join(f"<li><code>{esc(p)}</code></li>" for p in inputs)
             + "</ul>", "<h3>Versions (report environment)</h3>", kv_table(versions)]
    rows = []
    for name in sorted(files):
        if name.endswith(".json") and name[:-5] in files:
            continue  # a sidecar: shown with its file
        for p in files[name]:
            prov = file_provenance(p)
            params = prov.get("params", {})
            ptxt = json.dumps(params, sort_keys=True, default=str) if params else ""
            rows.append({"file": str(p), "step": prov.get("step", ""),
                         "version": prov.get("version", ""), "params": ptxt})
    if rows:
        body = []
        for r in rows:
            params = (f"<details><summary>parameters</summary><pre>{esc(r['params'])}</pre></details>"
                      if r["params"] else "")
            body.append(f"<tr><td><code>{esc(r['file'])}</code></td><td>{esc(r['step'])}</td>"
                        f"<td>{esc(r['version'])}</td><td>{params}</td></tr>")
        steps = sorted({r["step"] for r in rows if r["step"]})
        parts.append("<h3>Files and provenance (step, tfvocab version, parameters)</h3>"
                     f"<details><summary>{len(rows)} files from {len(steps)} steps "
                     f"({esc(', '.join(steps))})</summary>"
                     "<table><thead><tr><th>file</th><th>step</th><th>version</th><th>parameters</th>"
                     f"</tr></thead><tbody>{''.join(body)}</tbody></table></details>")
    else:
        parts.append(missing("result files", "no files were found under the given paths"))
    return "\n".join(parts)
