"""The pipeline's samplesheet rules at launch: samplesheetTracks() of
subworkflows/local/utils_nfcore_tfvocab_pipeline/main.nf, executed.

The Groovy functions are taken from the file as written and run by the Groovy runtime inside the
Nextflow language server jar, with the few Nextflow functions they use (file(), error(),
Path.name/baseName/exists()) defined as Nextflow defines them. Every sheet below goes through
both samplesheetTracks() and src/tfvocab/data/samplesheet.py: both must accept it with the same tracks,
or both reject it (the collisions MERGE would hit: a TF listed twice, two controls with one
stem, a TF named like a control). Without the jar or java: skipped locally, a failure in CI.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import nfparse as nf
from tfvocab.errors import TfvocabError
from tfvocab.data.samplesheet import read_samplesheet, tracks

ROOT = Path(__file__).resolve().parents[2]
INIT = ROOT / "subworkflows/local/utils_nfcore_tfvocab_pipeline/main.nf"
JAR = Path(os.environ.get("NEXTFLOW_LS_JAR", ROOT / ".ci/cache/language-server-all.jar"))

#: the Nextflow functions samplesheetTracks() uses, as Nextflow defines them: file() of a local path is absolute and normalized
#: (FilesEx.complete), error() stops the run with the message, Path.name / baseName / exists()
SHIM = r"""
import java.nio.file.*
ExpandoMetaClass.enableGlobally()
Path.metaClass.getName = { -> delegate.fileName.toString() }
Path.metaClass.getBaseName = { -> def n = delegate.fileName.toString(); def k = n.lastIndexOf('.'); k > 0 ? n.substring(0, k) : n }
Path.metaClass.exists = { -> Files.exists(delegate) }
def file(v) { Paths.get(v.toString()).toAbsolutePath().normalize() }
def error(String msg) { throw new IllegalStateException(msg) }
"""
MAIN = r"""
def out = []
new groovy.json.JsonSlurper().parse(new File(args[0])).each { c ->
    try {
        out << [tracks: samplesheetTracks(Paths.get(c.sheet), c.rows).collect { m, p -> [m.id, m.kind, m.control, p.toString()] }]
    } catch (IllegalStateException e) {
        out << [error: e.message]
    }
}
println groovy.json.JsonOutput.toJson(out)
"""

# (csv text, files to create, None for a valid sheet or the message both readers give)
CASES = [
    ("tf,bigwig,control\nABI5,bigwig/ABI5.bw,bigwig/input.bw\nMYB52,bigwig/MYB52.bw,bigwig/input.bw\nWRKY18,WRKY18.bw,\n",
     ["bigwig/ABI5.bw", "bigwig/MYB52.bw", "bigwig/input.bw", "WRKY18.bw"], None),
    ("tf,bigwig,peaks,control\nABI5,,peaks/ABI5.narrowPeak.gz,ctrl/zinput.bw\nMYB52,MYB52.bigWig,,ctrl/gfp.bw\n",
     ["peaks/ABI5.narrowPeak.gz", "MYB52.bigWig", "ctrl/zinput.bw", "ctrl/gfp.bw"], None),
    # one control file written two ways is one track
    ("tf,bigwig,control\nA,a.bw,ctl/input.bw\nB,b.bw,./ctl/input.bw\nC,c.bw,ctl/../ctl/input.bw\n",
     ["a.bw", "b.bw", "c.bw", "ctl/input.bw"], None),
    ("tf,bigwig,control\nABI5,a.bw,\nMYB,b.bw,\nABI5,c.bw,\n", ["a.bw", "b.bw", "c.bw"],
     "line 4: TF 'ABI5' is listed twice (first on line 2)"),
    ("tf,bigwig,control\nABI5,a.bw,run1/input.bw\nMYB,b.bw,run2/input.bw\n",
     ["a.bw", "b.bw", "run1/input.bw", "run2/input.bw"], "line 3: two different controls share the stem 'input'"),
    ("tf,bigwig,control\nABI5,a.bw,input.bw\ninput,b.bw,\n", ["a.bw", "b.bw", "input.bw"],
     "line 2: TF 'input' (line 3) is named like the control"),
    ("tf,bigwig,control\nABI5,ABI5.bw,\nMYB,MYB.bw,ABI5.bw\n", ["ABI5.bw", "MYB.bw"],
     "line 3: TF 'ABI5' (line 2) is named like the control"),
    ("tf,bigwig,peaks\nABI5,a.bw,a.bed\n", ["a.bw", "a.bed"], "line 2: TF 'ABI5'"),
    ("tf,bigwig,control\nABI5,a.bw,input.bw\n", ["a.bw"], "line 2: control file not found"),
]


def _require_groovy():
    reasons = []
    if not JAR.is_file():
        reasons.append(f"{JAR} is missing: run `bash .ci/install_tools.sh`")
    if shutil.which("java") is None:
        reasons.append("java (>= 17) is not on PATH")
    if reasons:
        msg = "Groovy runtime unavailable: " + "; ".join(reasons)
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg)
        pytest.skip(msg)


def _functions(text: str, names: tuple[str, ...]) -> str:
    out = []
    for name in names:
        start = text.index(f"def {name}(")
        out.append(text[start:nf.match_brace(text, text.index("{", start)) + 1])
    return "\n".join(out)


def _python_rows(sheet: Path) -> list[dict[str, str]]:
    """The rows as schemaRows() hands them over (nf-schema: empty cells are '')."""
    import csv
    with open(sheet, newline="") as fh:
        return [{k: (row.get(k) or "").strip() for k in ("tf", "bigwig", "peaks", "control")}
                for row in csv.DictReader(fh)]


def _run_groovy(tmp_path: Path, cases: list[dict], init_text: str) -> list[dict]:
    script = tmp_path / "tracks.groovy"
    script.write_text(SHIM + _functions(init_text, ("sheetPath", "samplesheetTracks")) + MAIN)
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    proc = subprocess.run(["java", "-cp", str(JAR), "groovy.ui.GroovyMain", str(script), str(tmp_path / "cases.json")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _sheets(tmp_path: Path) -> list[Path]:
    sheets = []
    for i, (text, files, _expected) in enumerate(CASES):
        folder = tmp_path / f"case{i}"
        for name in files:
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).touch()
        folder.mkdir(exist_ok=True)
        (folder / "samplesheet.csv").write_text(text)
        sheets.append(folder / "samplesheet.csv")
    return sheets


def _python(sheet: Path):
    try:
        return [[name, kind, str(path)] for name, path, kind in tracks(read_samplesheet(sheet))], None
    except TfvocabError as e:
        return None, str(e)


def _check(tmp_path: Path, init_text: str) -> list[str]:
    """The disagreements between the two readers over CASES (empty: they agree)."""
    sheets = _sheets(tmp_path)
    results = _run_groovy(tmp_path, [{"sheet": str(s), "rows": _python_rows(s)} for s in sheets], init_text)
    problems = []
    for (text, _files, expected), sheet, groovy in zip(CASES, sheets, results):
        py_tracks, py_error = _python(sheet)
        label = text.replace("\n", "|")
        if expected is None:
            if py_error or "error" in groovy:
                problems.append(f"{label}: rejected (python: {py_error}; pipeline: {groovy.get('error')})")
            elif [[t[0], t[1], t[3]] for t in groovy["tracks"]] != py_tracks:
                problems.append(f"{label}: tracks differ (python {py_tracks}, pipeline {groovy['tracks']})")
        else:
            for who, msg in (("python", py_error), ("pipeline", groovy.get("error"))):
                if not msg or expected not in msg:
                    problems.append(f"{label}: {who} says {msg!r}, expected {expected!r}")
    return problems


def test_pipeline_and_package_read_samplesheets_alike(tmp_path):
    _require_groovy()
    problems = _check(tmp_path, INIT.read_text())
    assert not problems, "\n".join(problems)
    # the tracks of the first sheet, spelled out: TFs in order with their control's name, then the control
    sheet = tmp_path / "case0/samplesheet.csv"
    [result] = _run_groovy(tmp_path, [{"sheet": str(sheet), "rows": _python_rows(sheet)}], INIT.read_text())
    folder = str(sheet.parent)
    assert result["tracks"] == [["ABI5", "bigwig", "input", f"{folder}/bigwig/ABI5.bw"],
                                ["MYB52", "bigwig", "input", f"{folder}/bigwig/MYB52.bw"],
                                ["WRKY18", "bigwig", None, f"{folder}/WRKY18.bw"],
                                ["input", "control", None, f"{folder}/bigwig/input.bw"]]


@pytest.mark.parametrize("old, new, case", [
    ("if (tf_line.containsKey(tf)) {", "if (false) {", "listed twice"),
    ("if (controls.containsKey(control_name) && controls[control_name][0] != control_path) {", "if (false) {",
     "share the stem"),
    ("if (tf_line.containsKey(name)) {", "if (false) {", "named like the control"),
])
def test_each_collision_check_is_needed(tmp_path, old, new, case):
    """Dropping one of samplesheetTracks()'s collision checks makes the comparison fail."""
    _require_groovy()
    text = INIT.read_text()
    assert text.count(old) == 1, old
    problems = _check(tmp_path, text.replace(old, new))
    assert [p for p in problems if "pipeline says None" in p and case in p] == problems, problems
    assert problems
