"""`tfvocab demo`: the pipeline's steps, in the pipeline's order, with the pipeline's layout.

The order is read from workflows/tfvocab.nf; the layout from each module's `output:` block
(`modules/local/<step>/main.nf`): every file a module publishes (non-optional outputs) must be in
the demo's folder for that step.
"""
from __future__ import annotations

import fnmatch
import json
import shutil
import re
from pathlib import Path

import h5py
import pandas as pd
import pytest
from click.testing import CliRunner

from tfvocab import demo
from tfvocab.cli import main

ROOT = Path(__file__).resolve().parents[1]


def workflow_step_order() -> list[str]:
    text = (ROOT / "workflows" / "tfvocab.nf").read_text()
    body = text[text.index("workflow TFVOCAB"):]
    return [m.group(1).lower() for m in re.finditer(r"^\s*TFVOCAB_([A-Z]+)\(", body, re.M)]


def published_patterns(step: str) -> list[str]:
    """File patterns of the non-optional `path(...)` outputs of a step's module."""
    text = (ROOT / "modules" / "local" / step / "main.nf").read_text()
    block = text[text.index("output:"):text.index("when:") if "when:" in text else text.index("script:")]
    patterns = []
    for line in block.splitlines():
        if "optional: true" in line or "versions.yml" in line:
            continue
        patterns += re.findall(r'path\(?\s*"([^"]+)"', line)
    return patterns


def glob_matches(name: str, pattern: str) -> bool:
    """Nextflow-style glob match, with `{a,b}` alternatives."""
    m = re.search(r"\{([^{}]*)\}", pattern)
    if m:
        return any(glob_matches(name, pattern[:m.start()] + alt + pattern[m.end():])
                   for alt in m.group(1).split(","))
    return fnmatch.fnmatch(name, pattern)


def test_demo_runs_the_workflow_steps_in_order():
    assert list(demo.PIPELINE) == workflow_step_order()


def readme_demo_args() -> tuple[list[str], str]:
    """The arguments of the README's Quick start `tfvocab demo ...` command, and its --outdir."""
    import shlex

    text = (ROOT / "README.md").read_text()
    quick = text[text.index("## Quick start"):]
    m = re.search(r"tfvocab (demo [^&\n]*)", quick)
    assert m, "the README's Quick start runs `tfvocab demo`"
    args = shlex.split(m.group(1))
    return args, args[args.index("--outdir") + 1]


def test_ci_runs_the_readme_test_command():
    text = (ROOT / "README.md").read_text()
    quick = text[text.index("## Quick start"):]
    m = re.search(r"# 2\. run the tests.*\n(.+)\n", quick)
    ci = (ROOT / ".ci" / "run").read_text()
    for part in m.group(1).split("&&"):
        assert part.strip() in ci, part


@pytest.fixture(scope="module")
def tiny_demo(tmp_path_factory):
    """The README's own `tfvocab demo` command (its --outdir under a temporary folder)."""
    args, outdir = readme_demo_args()
    out = tmp_path_factory.mktemp("demo") / outdir
    args[args.index("--outdir") + 1] = str(out)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return out


def test_demo_writes_the_published_layout(tiny_demo):
    folders = sorted(p.name for p in tiny_demo.iterdir() if p.is_dir())
    assert folders == sorted(demo.PIPELINE)
    for step in demo.PIPELINE:
        files = [str(p.relative_to(tiny_demo / step)) for p in (tiny_demo / step).rglob("*")]
        for pattern in published_patterns(step):
            # per-fold steps (train, evaluate) may write into fold_<k>/ subfolders, as the pipeline publishes them
            assert any(glob_matches(f, pattern) or glob_matches(Path(f).name, pattern) for f in files), \
                f"{step}/: the pipeline publishes {pattern!r}, the demo wrote none ({sorted(files)[:10]})"
    assert not list(tiny_demo.rglob("*.tmp")), "temporary files left behind"


def test_demo_outputs_are_consistent(tiny_demo):
    genes = pd.read_csv(tiny_demo / "promoters" / "promoters.tsv", sep="\t")["gene_id"].tolist()
    with h5py.File(tiny_demo / "tokenize" / "tokens.h5") as f:
        assert [g.decode() for g in f["genes"][()]] == genes
        assert f["tokens"].shape[0] == len(genes)
    metrics = json.loads((tiny_demo / "evaluate" / "fold_0" / "metrics.json").read_text())
    text = json.dumps(metrics)
    for row in ("transformer", "cosine_profile", "logreg_profile", "bag_of_tokens", "oracle"):
        assert row in text, row
    html = (tiny_demo / "report" / "report.html").read_text()
    assert "<img" in html and "Evaluation" in html
    assert "http://" not in html and "https://" not in html.replace("https://www.w3.org", "")


def test_demo_resume_skips_complete_steps_and_reruns_from_a_damaged_one(tiny_demo, tmp_path, caplog):
    out = tmp_path / "copy"
    shutil.copytree(tiny_demo, out)
    res = CliRunner().invoke(main, ["demo", "--preset", "tiny", "--outdir", str(out), "--resume"])
    assert res.exit_code == 0, res.output
    skipped = [r.message for r in caplog.records if "skipped (--resume)" in r.message]
    assert len(skipped) == len(demo.PIPELINE)
    caplog.clear()
    (out / "tokenize" / "vocabulary.tsv").write_text("changed by hand\n")      # no longer complete
    res = CliRunner().invoke(main, ["demo", "--preset", "tiny", "--outdir", str(out), "--resume"])
    assert res.exit_code == 0, res.output
    skipped = {r.message.split(":")[0].split("] ")[1] for r in caplog.records
               if "skipped (--resume)" in r.message}
    assert skipped == set(demo.PIPELINE[:demo.PIPELINE.index("tokenize")])
    assert (out / "tokenize" / "vocabulary.tsv").read_text().startswith("token\t")
