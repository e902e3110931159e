"""The samplesheet (``samplesheet.csv``): the one reader, with every rule the pipeline checks at launch.

Columns (header names; order free; extra columns are ignored with a warning):

* ``tf`` (required): the TF's name, used in file names (``signal.<tf>.h5``): letters, digits and
  ``_ . -``, starting with a letter or digit (:data:`NAME_PATTERN`).
* ``bigwig``: the TF's DAP-seq signal bigWig (``.bw``, ``.bigwig``, ``.bigWig``), or
* ``peaks``: its peak calls instead (narrowPeak / broadPeak / BED, optionally ``.gz``);
  each row gives exactly one of the two.
* ``control`` (optional): a control (input / GFP) bigWig this TF is corrected with; several rows
  may share one. Each distinct control is one more track, named by its file stem
  (``input.bw`` -> ``input``), so two different controls must not share a stem and no TF may be
  named like a control.

Relative paths are relative to the samplesheet's own folder (absolute paths are kept).
The same rules are in ``assets/schema_input.json`` (nf-schema, checked at pipeline launch) and in
the pipeline's launch-time checks (``subworkflows/local/utils_nfcore_tfvocab_pipeline``); a test
keeps the patterns here and in the schema identical.

Every violation raises :class:`~tfvocab.errors.TfvocabError` with one line naming the file, the
line and what to do. This module reads; it computes nothing else (no step imports another).
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from ..errors import TfvocabError
from ..log import get_logger

log = get_logger("samplesheet")

#: TF names and control stems: usable as a file-name component on every file system
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
#: bigWig paths (``bigwig`` and ``control`` columns)
BIGWIG_PATTERN = r"^\S+\.(bw|bigwig|bigWig)$"
#: peak-call paths (``peaks`` column)
PEAKS_PATTERN = r"^\S+\.(narrowPeak|broadPeak|bed)(\.gz)?$"

COLUMNS = ("tf", "bigwig", "peaks", "control")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def control_stem(path: str | Path) -> str:
    """Track name of a control file: its file name without the last extension."""
    name = str(path).rstrip("/").rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name


def _resolve(value: str, folder: Path) -> Path | str:
    """``value`` relative to ``folder`` (absolute paths as they are; URLs kept as strings)."""
    if _URL.match(value):
        return value
    p = Path(value).expanduser()
    return p if p.is_absolute() else folder / p


def _rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header and ``(line number, row)`` of every non-blank row; cells stripped."""
    try:
        fh = open(path, newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise TfvocabError("samplesheet not found", path=str(path)) from None
    except IsADirectoryError:
        raise TfvocabError("samplesheet is a folder, not a CSV file", path=str(path)) from None
    rows = []
    with fh:
        try:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise TfvocabError("empty samplesheet", path=str(path),
                                   hint="a CSV with header tf,bigwig,control")
            header = [h.strip() for h in header]
            for cells in reader:
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) > len(header):
                    raise TfvocabError(f"{len(cells)} cells but the header has {len(header)} columns",
                                       path=str(path), record=f"line {reader.line_num}",
                                       hint="quote values that contain commas")
                row = {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)}
                rows.append((reader.line_num, row))
        except UnicodeDecodeError as exc:
            raise TfvocabError(f"not a UTF-8 text file ({exc.reason})", path=str(path),
                               hint="save the samplesheet as CSV (UTF-8)") from None
        except csv.Error as exc:
            raise TfvocabError(f"cannot parse samplesheet: {exc}", path=str(path)) from None
    return header, rows


def read_samplesheet(path: str | Path, check_files: bool = True) -> pd.DataFrame:
    """Read and validate ``samplesheet.csv``.

    Returns one row per TF, in the sheet's order, with columns ``tf`` (str), ``bigwig``,
    ``peaks``, ``control`` (``pathlib.Path`` resolved against the sheet's folder, a URL string,
    or None when empty), ``control_name`` (the control's track name, '' when none) and ``line``
    (the row's line number in the file).

    ``check_files=False`` skips the existence check (a pipeline task that stages the sheet
    without its tracks, e.g. MERGE, only needs the names).
    """
    path = Path(path)
    sheet = str(path)
    folder = path.resolve().parent
    header, rows = _rows(path)
    if "tf" not in header:
        raise TfvocabError("missing required column 'tf'", path=sheet, record="line 1 (header)",
                           hint="columns tf,bigwig,control (or tf,peaks)")
    extra = [h for h in header if h not in COLUMNS]
    if extra:
        log.warning("%s: ignoring unknown column(s) %s (known: %s)", sheet, ", ".join(extra), ", ".join(COLUMNS))
    if not rows:
        raise TfvocabError("no TF rows below the header", path=sheet, hint="one row per DAP-seq TF")

    records, first_line = [], {}
    for line, row in rows:
        where = f"line {line}"
        tf = row.get("tf", "")
        if not tf:
            raise TfvocabError("empty tf", path=sheet, record=where, hint="give every row a TF name")
        if not re.match(NAME_PATTERN, tf):
            raise TfvocabError(f"TF name '{tf}' is not usable in file names", path=sheet, record=where,
                               hint="letters, digits, '_', '.', '-', starting with a letter or digit")
        if tf in first_line:
            raise TfvocabError(f"TF '{tf}' is listed twice (first on line {first_line[tf]})",
                               path=sheet, record=where, hint="one row per TF")
        first_line[tf] = line
        bigwig, peaks, control = (row.get(c, "") for c in ("bigwig", "peaks", "control"))
        if bool(bigwig) == bool(peaks):
            what = "both bigwig and peaks" if bigwig else "neither bigwig nor peaks"
            raise TfvocabError(f"TF '{tf}' has {what}", path=sheet, record=where,
                               hint="give exactly one: a bigWig, or a narrowPeak/BED file of peaks")
        for column, value, pattern, kind in (("bigwig", bigwig, BIGWIG_PATTERN, "a bigWig (.bw, .bigwig, .bigWig)"),
                                             ("peaks", peaks, PEAKS_PATTERN, "narrowPeak/broadPeak/BED (.gz ok)"),
                                             ("control", control, BIGWIG_PATTERN, "a bigWig (.bw, .bigwig, .bigWig)")):
            if value and not re.match(pattern, value):
                raise TfvocabError(f"{column} '{value}' is not {kind} path without spaces", path=sheet, record=where)
        records.append({
            "tf": tf,
            "bigwig": _resolve(bigwig, folder) if bigwig else None,
            "peaks": _resolve(peaks, folder) if peaks else None,
            "control": _resolve(control, folder) if control else None,
            "control_name": control_stem(control) if control else "",
            "line": line,
        })

    # controls: one track per distinct file, named by its stem; stems and TF names share one namespace
    control_of_stem: dict[str, tuple[str, int]] = {}
    for rec in records:
        if rec["control"] is None:
            continue
        stem, where = rec["control_name"], f"line {rec['line']}"
        if not re.match(NAME_PATTERN, stem):
            raise TfvocabError(f"control file name '{stem}' is not usable as a track name", path=sheet,
                               record=where, hint="rename the control file (letters, digits, '_', '.', '-')")
        key = str(rec["control"]) if isinstance(rec["control"], str) else str(Path(rec["control"]).resolve())
        if stem in control_of_stem and control_of_stem[stem][0] != key:
            raise TfvocabError(
                f"two different controls share the stem '{stem}' ({control_of_stem[stem][0]} on line "
                f"{control_of_stem[stem][1]} and {key}): both would be the track signal.{stem}.h5",
                path=sheet, record=where, hint="rename one of the control files")
        control_of_stem.setdefault(stem, (key, rec["line"]))
        if stem in first_line:
            raise TfvocabError(
                f"TF '{stem}' (line {first_line[stem]}) is named like the control {key}: both would be "
                f"the track signal.{stem}.h5", path=sheet, record=where,
                hint="rename the TF or the control file")

    if check_files:
        for rec in records:
            for column in ("bigwig", "peaks", "control"):
                value = rec[column]
                if value is None:
                    continue
                if isinstance(value, str):
                    raise TfvocabError(f"{column} {value} is remote: only local files can be read here",
                                       path=sheet, record=f"line {rec['line']}", hint="download it first")
                if not Path(value).is_file():
                    raise TfvocabError(f"{column} file not found: {value}", path=sheet,
                                       record=f"line {rec['line']}",
                                       hint="relative paths are relative to the samplesheet's folder")

    return pd.DataFrame.from_records(records, columns=["tf", "bigwig", "peaks", "control", "control_name", "line"])


def tracks(sheet: pd.DataFrame) -> list[tuple[str, Path | str, str]]:
    """``(name, path, kind)`` of every track to extract from a :func:`read_samplesheet` table.

    One per TF row, in the sheet's order (``kind`` ``"bigwig"`` or ``"peaks"``, named by its
    ``tf``), then one per distinct control, sorted by name (``kind`` ``"control"``: a bigWig,
    named by its file stem), as the pipeline's EXTRACT scatter names them.
    """
    out: list[tuple[str, Path | str, str]] = []
    controls: dict[str, Path | str] = {}
    for row in sheet.itertuples(index=False):
        if row.bigwig is not None:
            out.append((row.tf, row.bigwig, "bigwig"))
        else:
            out.append((row.tf, row.peaks, "peaks"))
        if row.control is not None:
            controls.setdefault(row.control_name, row.control)
    return out + [(name, controls[name], "control") for name in sorted(controls)]
