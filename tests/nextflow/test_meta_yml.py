"""Every module's meta.yml describes exactly the inputs and outputs of its main.nf (nf-core layout:
one entry per input channel, a list for a tuple; one key per emit), names and order included."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

import nfparse as nf
from pipeline import MODULE_IDS, MODULES

_ELEMENT = re.compile(r"\b(val|path|env)\(\s*(\"[^\"]+\"|'[^']+'|\w+)")


def declared(lines: list[str]) -> list[list[tuple[str, str]]]:
    """``[[(keyword, name), ...] per channel]`` of input or output declaration lines."""
    out = []
    for line in lines:
        els = [(m.group(1), m.group(2).strip("\"'")) for m in _ELEMENT.finditer(line)]
        m = re.match(r'\s*path\s+"([^"]+)"', line)
        if m:
            els.append(("path", m.group(1)))
        if els:
            out.append(els)
    return out


def described(entries) -> list[list[tuple[str, dict]]]:
    """The same shape from meta.yml: a dict is a one-element channel, a list a tuple."""
    out = []
    for entry in entries:
        assert not (isinstance(entry, list) and len(entry) < 2), \
            f"meta.yml entry {entry!r}: a lone input/output is a mapping, a list is a tuple (nf-core layout)"
        items = entry if isinstance(entry, list) else [entry]
        chan = []
        for item in items:
            assert isinstance(item, dict) and len(item) == 1, f"meta.yml entry {item!r}: one name per element"
            (name, spec), = item.items()
            chan.append((name, spec))
        out.append(chan)
    return out


def _check_specs(channels, decl, where):
    assert [[name for name, _ in chan] for chan in channels] == [[name for _, name in chan] for chan in decl], \
        f"{where}: meta.yml {[[n for n, _ in c] for c in channels]} vs main.nf {[[n for _, n in c] for c in decl]}"
    for chan, dchan in zip(channels, decl):
        for (name, spec), (keyword, _) in zip(chan, dchan):
            assert spec.get("description"), f"{where}: {name} has no description"
            if keyword == "val":
                assert spec.get("type") == "map", f"{where}: {name} is a val(meta): type map"
            else:
                assert spec.get("type") in ("file", "directory"), f"{where}: {name}: type {spec.get('type')}"
                assert spec.get("pattern"), f"{where}: {name} has no pattern"


@pytest.mark.parametrize("module", MODULES, ids=MODULE_IDS)
def test_meta_yml_matches_main_nf(module: Path):
    p = next(iter(nf.processes(module / "main.nf").values()))
    meta = yaml.safe_load((module / "meta.yml").read_text())
    assert meta["name"] == f"tfvocab_{module.name}" and meta.get("description")
    assert meta["tools"][0]["tfvocab"]["licence"] == ["MIT"]

    _check_specs(described(meta.get("input", [])), declared(p.inputs), f"{module.name} input")

    out_lines = [ln.strip() for ln in p.sections["output"].splitlines() if ln.strip()]
    emits = [re.search(r"emit:\s*(\w+)", ln).group(1) for ln in out_lines]
    assert list(meta["output"]) == emits, f"{module.name}: meta.yml outputs {list(meta['output'])} vs emits {emits}"
    for emit, line in zip(emits, out_lines):
        entries = meta["output"][emit]
        assert isinstance(entries, list) and len(entries) == 1, f"{module.name}.{emit}: one channel per emit"
        _check_specs(described(entries), declared([line]), f"{module.name} output {emit}")
    # folders (SIMULATE's truth/ and bigwig/) are typed as directories, in and out
    for chan in described(meta.get("input", [])) + [c for e in meta["output"].values() for c in described(e)]:
        for name, spec in chan:
            if name in ("truth", "bigwig"):
                assert spec["type"] == "directory", f"{module.name}: {name} is a folder"


def test_the_comparison_catches_a_drift(tmp_path):
    """A renamed input, a missing emit and an output pattern that differs are all reported."""
    module = next(m for m in MODULES if m.name == "evaluate")
    p = next(iter(nf.processes(module / "main.nf").values()))
    meta = yaml.safe_load((module / "meta.yml").read_text())
    renamed = [[{"modelfile" if k == "model" else k: v for k, v in el.items()} for el in chan] if isinstance(chan, list) else chan
               for chan in meta["input"]]
    with pytest.raises(AssertionError, match="modelfile"):
        _check_specs(described(renamed), declared(p.inputs), "evaluate input")
    out_lines = [ln.strip() for ln in p.sections["output"].splitlines() if ln.strip()]
    metrics = meta["output"]["metrics"][0]
    drifted = [metrics[0], {"metrics.tsv": metrics[1]["metrics.json"]}]
    with pytest.raises(AssertionError, match="metrics.tsv"):
        _check_specs(described([drifted]), declared([out_lines[0]]), "evaluate output metrics")
    assert len(meta["output"]) - 1 != len(out_lines)   # a missing emit changes the key list
