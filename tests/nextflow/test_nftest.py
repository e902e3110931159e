"""The nf-test files (run by users' CI with Nextflow; not here): their structure, snapshots, and
the process calls they make, replayed as a Nextflow script through the language server and the
tuple-arity check."""
from __future__ import annotations

import re
import shutil

import pytest

import lsp
import nftest
import shapes
from pipeline import MODULE_IDS, MODULES, PIPELINE_ORDER, ROOT, procs
from test_language_server import IGNORED, JAR, TIMEOUT, _require_server


@pytest.mark.parametrize("module", MODULES, ids=MODULE_IDS)
def test_module_nf_test_has_a_real_and_a_stub_test_with_snapshots(module):
    path = module / "tests/main.nf.test"
    text = path.read_text()
    parsed = nftest.parse(path)
    name = f"TFVOCAB_{module.name.upper()}"
    assert parsed["script"] == "../main.nf" and parsed["process"] == name
    for tag in ("modules", "modules_local", "tfvocab", f"tfvocab/{module.name}"):
        assert f'tag "{tag}"' in text
    assert list(parsed["tests"]) == ["tiny simulated dataset", "tiny simulated dataset - stub"]
    real, stub = parsed["tests"].values()
    assert real["options"] == "" and stub["options"] == "-stub"
    for t in (real, stub):
        assert "assert process.success" in t["then"]
        assert re.search(r"snapshot\((?s:.*)\)\.match\(\)", t["then"]), "a snapshot assertion"
        assert len(t["when"].inputs) == len(procs()[name].inputs), "one input[i] per input channel"
    assert "snapshot(process.out).match()" in stub["then"], "the stub run snapshots every channel"
    assert "process.out.versions" in real["then"]
    # setup: each run() names a module that exists, with its number of inputs
    for call in parsed["setup"]:
        assert call.process in procs(), call.process
        assert (module / "tests" / f"../../{call.process.removeprefix('TFVOCAB_').lower()}/main.nf").resolve().is_file()
        assert len(call.inputs) == len(procs()[call.process].inputs), call.process
        assert f'script "../../{call.process.removeprefix("TFVOCAB_").lower()}/main.nf"' in text
    # braces and parentheses balance (strings skipped)
    assert nftest.nf.match_brace(text, text.index("{")) == len(text.rstrip()) - 1


def test_pipeline_nf_test_checks_every_step_folder_and_snapshots_the_layout():
    text = (ROOT / "tests/main.nf.test").read_text()
    steps = re.search(r"def steps = \[(.*?)\]", text, re.S).group(1)
    assert re.findall(r"'(\w+)'", steps) == PIPELINE_ORDER
    assert text.count(".match()") == 2 and 'options "-stub"' in text
    assert "train/fold_$k/model.pt" in text and "summarize/summary.json" in text


def _replayed(tmp_path):
    """One script per module test (the real test's calls), in a copy of the pipeline."""
    root = tmp_path / "pipeline"
    root.mkdir()
    for name in ("nextflow.config", "nextflow_schema.json", "conf", "modules", "subworkflows"):
        src = ROOT / name
        (shutil.copytree(src, root / name, ignore=shutil.ignore_patterns("tests")) if src.is_dir()
         else shutil.copy2(src, root / name))
    scripts = {}
    for module in MODULES:
        parsed = nftest.parse(module / "tests/main.nf.test")
        script = root / f"nftest_{module.name}.nf"
        script.write_text(nftest.as_workflow(parsed, "tiny simulated dataset", "modules/local"))
        scripts[module.name] = script
    return root, scripts


def test_the_calls_of_every_module_test_have_the_declared_tuple_arity(tmp_path):
    _, scripts = _replayed(tmp_path)
    checked = 0
    for name, script in scripts.items():
        report, _ = shapes.check_workflow(script.read_text(), "", procs())
        assert not report.errors, f"{name}/tests/main.nf.test:\n" + "\n".join(report.errors)
        checked += report.checked
    assert checked >= 60, checked


def test_the_calls_of_every_module_test_parse_and_type_check(tmp_path):
    _require_server()
    root, scripts = _replayed(tmp_path)
    diags, missing = lsp.check_files(JAR, root, list(scripts.values()), timeout=TIMEOUT)
    assert not missing
    errors = diags.errors(ignore=IGNORED)
    assert not errors, "\n".join(d.format(root) for d in errors)
