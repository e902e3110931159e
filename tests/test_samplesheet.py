"""tfvocab.data.samplesheet: the one samplesheet reader, its rules, and the same rules in the pipeline's
assets/schema_input.json (nf-schema checks them at launch)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import jsonschema
import pytest

from tfvocab.errors import TfvocabError
from tfvocab.data.samplesheet import (BIGWIG_PATTERN, NAME_PATTERN, PEAKS_PATTERN, control_stem,
                                 read_samplesheet, tracks)

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "assets/schema_input.json").read_text())


def _sheet(folder: Path, text: str, touch=()) -> Path:
    """Write samplesheet.csv in ``folder`` and create the (empty) track files named in ``touch``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in touch:
        p = folder / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.touch()
    path = folder / "samplesheet.csv"
    path.write_text(text)
    return path


def _error(path: Path, **kw) -> str:
    with pytest.raises(TfvocabError) as exc:
        read_samplesheet(path, **kw)
    msg = str(exc.value)
    assert "\n" not in msg, msg
    assert str(path) in msg, msg
    return msg


# --------------------------------------------------------------------------------------------
# valid sheets
# --------------------------------------------------------------------------------------------
def test_reads_resolves_relative_to_the_sheet_and_names_controls(tmp_path):
    elsewhere = tmp_path / "elsewhere" / "WRKY18.bw"
    elsewhere.parent.mkdir()
    elsewhere.touch()
    path = _sheet(tmp_path / "sheet", (
        "tf,bigwig,control\n"
        "ABI5,bigwig/ABI5.bw,bigwig/input.bw\n"
        "\n"
        "MYB52, bigwig/MYB52.bw ,bigwig/input.bw\n"
        f"WRKY18,{elsewhere},\n"),
        touch=["bigwig/ABI5.bw", "bigwig/MYB52.bw", "bigwig/input.bw"])
    sheet = read_samplesheet(path)
    assert list(sheet.columns[:5]) == ["tf", "bigwig", "peaks", "control", "control_name"]
    assert sheet["tf"].tolist() == ["ABI5", "MYB52", "WRKY18"]
    folder = path.resolve().parent
    assert sheet["bigwig"].tolist() == [folder / "bigwig/ABI5.bw", folder / "bigwig/MYB52.bw", elsewhere]
    assert sheet["control"].tolist()[:2] == [folder / "bigwig/input.bw"] * 2
    assert sheet["control"].iloc[2] is None and sheet["peaks"].iloc[0] is None
    assert sheet["control_name"].tolist() == ["input", "input", ""]
    assert sheet["line"].tolist() == [2, 4, 5]          # the blank line 3 is skipped, not renumbered
    assert tracks(sheet) == [("ABI5", folder / "bigwig/ABI5.bw", "bigwig"),
                             ("MYB52", folder / "bigwig/MYB52.bw", "bigwig"),
                             ("WRKY18", elsewhere, "bigwig"),
                             ("input", folder / "bigwig/input.bw", "control")]


def test_peaks_may_replace_bigwig_and_controls_are_listed_once_sorted(tmp_path):
    path = _sheet(tmp_path, (
        "tf,bigwig,peaks,control\n"
        "ABI5,,peaks/ABI5.narrowPeak.gz,ctrl/zinput.bw\n"
        "MYB52,MYB52.bigWig,,ctrl/gfp.bw\n"
        "WRKY18,,WRKY18.bed,ctrl/zinput.bw\n"),
        touch=["peaks/ABI5.narrowPeak.gz", "MYB52.bigWig", "WRKY18.bed", "ctrl/zinput.bw", "ctrl/gfp.bw"])
    sheet = read_samplesheet(path)
    names_kinds = [(name, kind) for name, _p, kind in tracks(sheet)]
    assert names_kinds == [("ABI5", "peaks"), ("MYB52", "bigwig"), ("WRKY18", "peaks"),
                           ("gfp", "control"), ("zinput", "control")]


def test_check_files_false_needs_only_the_names(tmp_path):
    path = _sheet(tmp_path, "tf,bigwig,control\nABI5,a/ABI5.bw,c/input.bw\n")   # no file exists
    sheet = read_samplesheet(path, check_files=False)
    assert sheet["control_name"].tolist() == ["input"]
    assert "bigwig file not found" in _error(path)


def test_control_stem():
    assert control_stem("dir/input.bw") == "input"
    assert control_stem("s3://bucket/run1/ctrl.input.bigWig") == "ctrl.input"


# --------------------------------------------------------------------------------------------
# one-line errors naming the file and the line
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, files, expected", [
    ("name,bigwig\nABI5,a.bw\n", ["a.bw"], "line 1 (header): missing required column 'tf'"),
    ("tf,bigwig\nABI5,a.bw\n,b.bw\n", ["a.bw", "b.bw"], "line 3: empty tf"),
    ("tf,bigwig\nAB I5,a.bw\n", ["a.bw"], "line 2: TF name 'AB I5' is not usable in file names"),
    ("tf,bigwig\nAB/I5,a.bw\n", ["a.bw"], "line 2: TF name 'AB/I5'"),
    ("tf,bigwig\n.hidden,a.bw\n", ["a.bw"], "line 2: TF name '.hidden'"),
    ("tf,bigwig\nABI5,a.bw\nMYB,b.bw\nABI5,c.bw\n", ["a.bw", "b.bw", "c.bw"],
     "line 4: TF 'ABI5' is listed twice (first on line 2)"),
    ("tf,bigwig,peaks\nABI5,,\n", [], "line 2: TF 'ABI5' has neither bigwig nor peaks"),
    ("tf,bigwig,peaks\nABI5,a.bw,a.bed\n", ["a.bw", "a.bed"], "line 2: TF 'ABI5' has both bigwig and peaks"),
    ("tf,bigwig\nABI5,a.bed\n", ["a.bed"], "line 2: bigwig 'a.bed' is not a bigWig"),
    ("tf,peaks\nABI5,a.bw\n", ["a.bw"], "line 2: peaks 'a.bw' is not narrowPeak"),
    ("tf,bigwig,control\nABI5,a.bw,c.txt\n", ["a.bw", "c.txt"], "line 2: control 'c.txt' is not a bigWig"),
    ("tf,bigwig,control\nABI5,a.bw,run1/input.bw\nMYB,b.bw,run2/input.bw\n",
     ["a.bw", "b.bw", "run1/input.bw", "run2/input.bw"],
     "line 3: two different controls share the stem 'input'"),
    ("tf,bigwig,control\nABI5,a.bw,input.bw\ninput,b.bw,\n", ["a.bw", "b.bw", "input.bw"],
     "line 2: TF 'input' (line 3) is named like the control"),
    ("tf,bigwig,control\nABI5,ABI5.bw,\nMYB,MYB.bw,ABI5.bw\n", ["ABI5.bw", "MYB.bw"],
     "line 3: TF 'ABI5' (line 2) is named like the control"),
    ("tf,bigwig,control\nABI5,a.bw,input.bw\n", ["a.bw"], "line 2: control file not found"),
    ("tf,bigwig\n", [], "no TF rows below the header"),
    ("", [], "empty samplesheet"),
    ("tf,bigwig\nABI5,a.bw,extra\n", ["a.bw"], "line 2: 3 cells but the header has 2 columns"),
])
def test_bad_sheets_fail_with_one_line_naming_file_and_line(tmp_path, text, files, expected):
    msg = _error(_sheet(tmp_path, text, touch=files))
    assert expected in msg, msg


def test_missing_sheet(tmp_path):
    assert "samplesheet not found" in _error(tmp_path / "nope.csv")


def test_same_control_file_shared_by_rows_is_one_track(tmp_path):
    path = _sheet(tmp_path, "tf,bigwig,control\nA,a.bw,ctl/input.bw\nB,b.bw,./ctl/input.bw\n",
                  touch=["a.bw", "b.bw", "ctl/input.bw"])
    assert [t for t in tracks(read_samplesheet(path)) if t[2] == "control"] == \
        [("input", path.resolve().parent / "ctl/input.bw", "control")]


# --------------------------------------------------------------------------------------------
# the same rules in assets/schema_input.json (nf-schema, at launch)
# --------------------------------------------------------------------------------------------
def _unique_entries(validator, fields, instance, schema):
    """nf-schema's ``uniqueEntries``: no two rows share the values of ``fields``."""
    seen = {}
    for i, row in enumerate(instance):
        key = tuple(row.get(f) for f in fields)
        if key in seen:
            yield jsonschema.ValidationError(
                f"Entry {i + 1}: the combination of {fields} {key} is not unique (entry {seen[key] + 1})")
        seen.setdefault(key, i)


NfSchemaValidator = jsonschema.validators.extend(jsonschema.Draft202012Validator,
                                                 {"uniqueEntries": _unique_entries})


def _schema_rows(path: Path) -> list[dict]:
    """Rows as nf-schema sees them: empty cells dropped."""
    with open(path, newline="") as fh:
        return [{k: v.strip() for k, v in row.items() if v and v.strip()} for row in csv.DictReader(fh)]


def _schema_errors(path: Path) -> list[str]:
    return [e.message for e in NfSchemaValidator(SCHEMA).iter_errors(_schema_rows(path))]


def test_schema_patterns_are_the_readers_patterns():
    props = SCHEMA["items"]["properties"]
    assert props["tf"]["pattern"] == NAME_PATTERN
    assert props["bigwig"]["pattern"] == BIGWIG_PATTERN == props["control"]["pattern"]
    assert props["peaks"]["pattern"] == PEAKS_PATTERN
    assert SCHEMA["uniqueEntries"] == ["tf"]
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_test_samplesheet_passes_both(tmp_path):
    rows = _schema_rows(ROOT / "assets/samplesheet_test.csv")
    assert rows and not list(NfSchemaValidator(SCHEMA).iter_errors(rows))
    sheet = read_samplesheet(ROOT / "assets/samplesheet_test.csv", check_files=False)
    assert len(sheet) == len(rows)


@pytest.mark.parametrize("text, files", [
    # a colliding sheet: one TF twice (MERGE would see two signal.ABI5.h5)
    ("tf,bigwig,control\nABI5,a.bw,input.bw\nMYB52,b.bw,input.bw\nABI5,c.bw,\n",
     ["a.bw", "b.bw", "c.bw", "input.bw"]),
    # both a bigWig and peaks
    ("tf,bigwig,peaks\nABI5,a.bw,a.narrowPeak\n", ["a.bw", "a.narrowPeak"]),
    # neither
    ("tf,bigwig,control\nABI5,,input.bw\n", ["input.bw"]),
    # a TF name that is not a file name
    ("tf,bigwig\nAB I5,a.bw\n", ["a.bw"]),
])
def test_sheets_the_schema_rejects_are_rejected_by_the_reader(tmp_path, text, files):
    path = _sheet(tmp_path, text, touch=files)
    assert _schema_errors(path), "nf-schema would accept this sheet"
    _error(path)


def test_schema_without_unique_entries_would_let_the_collision_through(tmp_path):
    """The duplicate-TF rejection above comes from uniqueEntries, not from another rule."""
    path = _sheet(tmp_path, "tf,bigwig\nABI5,a.bw\nABI5,b.bw\n", touch=["a.bw", "b.bw"])
    lax = {k: v for k, v in SCHEMA.items() if k != "uniqueEntries"}
    assert not list(NfSchemaValidator(lax).iter_errors(_schema_rows(path)))
    assert any("not unique" in m for m in _schema_errors(path))
