"""nf-test files read without nf-test: the process calls they make, as a Nextflow script.

nf-test turns each ``run("P") { process { <input[0] = ...> } }`` of ``setup`` and the
``when { process { ... } }`` of a test into a workflow that calls those processes with those
inputs (the snippets are triple-quoted Groovy strings). :func:`as_workflow` writes the same
workflow, so that the language server (names, syntax, types) and tests/nextflow/shapes.py (tuple
arity) can check what nf-test will run.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nfparse as nf


@dataclass
class Call:
    process: str
    inputs: list[str]


def _inputs(block: str) -> list[str]:
    """``input[i] = expr`` of a process block's Groovy snippet, in index order."""
    lits = [s for s in nf.string_literals(block) if "input[" in s]
    assert len(lits) == 1, f"one triple-quoted input snippet expected, got {len(lits)}"
    parts = re.split(r"(?m)^\s*input\[(\d+)\]\s*=\s*", lits[0])
    found = {int(i): expr.strip() for i, expr in zip(parts[1::2], parts[2::2])}
    assert sorted(found) == list(range(len(found))), f"input indices {sorted(found)}"
    return [found[i] for i in range(len(found))]


def _block_after(text: str, pattern: str, start: int = 0) -> tuple[str, int] | None:
    m = re.compile(pattern).search(text, start)
    if not m:
        return None
    open_idx = m.end() - 1
    close = nf.match_brace(text, open_idx)
    return text[open_idx + 1:close], close


def parse(path: Path) -> dict:
    """``{'process', 'script', 'setup': [Call], 'tests': {name: {'options', 'when': Call|None, 'then'}}}``."""
    text = Path(path).read_text()
    head = re.search(r'script\s+"([^"]+)"', text)
    proc = re.search(r'process\s+"(\w+)"', text)
    out = {"process": proc.group(1) if proc else None, "script": head.group(1) if head else None,
           "setup": [], "tests": {}}
    setup = _block_after(text, r"(?m)^\s*setup\s*\{")
    if setup:
        for m in re.finditer(r'run\("(\w+)"\)\s*\{', setup[0]):
            body = setup[0][m.end() - 1:nf.match_brace(setup[0], m.end() - 1) + 1]
            proc_block = _block_after(body, r"process\s*\{")
            out["setup"].append(Call(m.group(1), _inputs(proc_block[0]) if proc_block else []))
    for m in re.finditer(r'(?m)^\s*test\("([^"]+)"\)\s*\{', text):
        body = text[m.end() - 1:nf.match_brace(text, m.end() - 1) + 1]
        opts = re.search(r'options\s+"([^"]+)"', body)
        when = _block_after(body, r"when\s*\{")
        proc_block = _block_after(when[0], r"process\s*\{") if when else None
        then = _block_after(body, r"then\s*\{")
        out["tests"][m.group(1)] = {
            "options": opts.group(1) if opts else "",
            "when": Call(out["process"], _inputs(proc_block[0])) if proc_block else None,
            "then": then[0] if then else "",
        }
    return out


def as_workflow(parsed: dict, test: str, module_dir: str) -> str:
    """A Nextflow script calling the setup processes, then the tested process with the inputs of
    ``test``; includes relative to the pipeline root (``module_dir``: modules/local)."""
    calls = parsed["setup"] + [parsed["tests"][test]["when"]]
    names = dict.fromkeys(c.process for c in calls)
    lines = [f"include {{ {n} }} from './{module_dir}/{n.removeprefix('TFVOCAB_').lower()}'" for n in names]
    lines += ["", "workflow {", "    main:"]
    for c in calls:
        args = ",\n        ".join(c.inputs)
        lines.append(f"    {c.process}(\n        {args}\n    )")
    lines.append("}")
    return "\n".join(lines) + "\n"
