"""Finding the report's inputs among the given files and folders (by name), and reading them."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Mapping

import pandas as pd

from ..errors import TfvocabError


# names the report knows about (everything else is only listed in the Run section)
KNOWN = {
    "promoters.report.json", "promoters.tsv", "signal.h5", "normalized.h5", "tokens.h5",
    "vocabulary.tsv", "vocabulary.png", "pairs.report.json", "pairs.tsv", "train_log.tsv",
    "model.pt", "metrics.json", "summary.json", "summary.tsv", "summary.png", "pr_curve.png",
    "roc_curve.png", "predictions.tsv", "attention.h5", "attributions.h5", "tf_knockout.tsv",
    "token_importance.tsv", "token_importance.png", "attention_profile.png",
    "interpret.summary.json", "predicted_pairs.tsv", "network.graphml", "modules.tsv", "hubs.tsv",
    "predict.summary.json",
}


def collect_files(paths: Iterable[str | Path]) -> dict[str, list[Path]]:
    """Map file name -> paths found (given files, and every file under given folders).

    Hidden files and temporary files (``.name.*.tmp``) are skipped. Paths are sorted, so the
    first path of a name is deterministic. Raises TfvocabError for a path that does not exist.
    """
    found: dict[str, list[Path]] = {}
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise TfvocabError("result path does not exist", path=str(p),
                               hint="give step output files or folders")
        files = [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.is_file())
        for f in files:
            if any(part.startswith(".") for part in f.relative_to(p if p.is_dir() else p.parent).parts):
                continue
            found.setdefault(f.name, [])
            if f not in found[f.name]:
                found[f.name].append(f)
    return found


def _is_truth(p: Path) -> bool:
    return "truth" in p.parts


def first_file(files: Mapping[str, list[Path]], name: str) -> Path | None:
    """The first path of ``name``; a simulation's ``truth/`` files (same names as step outputs,
    e.g. ``modules.tsv``, ``pairs.tsv``) only when nothing else has the name."""
    paths = files.get(name)
    if not paths:
        return None
    return sorted(paths, key=_is_truth)[0]


def output_files(files: Mapping[str, list[Path]], name: str) -> list[Path]:
    """Every path of ``name`` outside ``truth/`` (e.g. one ``metrics.json`` per fold)."""
    return [p for p in files.get(name, []) if not _is_truth(p)]


def truth_file(files: Mapping[str, list[Path]], name: str) -> Path | None:
    return next((p for p in files.get(name, []) if _is_truth(p)), None)


def is_simulated(files: Mapping[str, list[Path]]) -> bool:
    """True when the inputs include SIMULATE's planted truth (``truth/`` files)."""
    return any(_is_truth(p) for paths in files.values() for p in paths)


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def read_tsv(path: Path) -> pd.DataFrame:
    # keep_default_na=False: the token kind "null" (and gene IDs like "NA") stay strings
    return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=["", "NaN", "nan"])


def flatten(d: Mapping, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def get_key(d: Mapping | None, *keys, default=None):
    for k in keys:
        if not isinstance(d, Mapping) or k not in d:
            return default
        d = d[k]
    return d
