"""One self-contained ``report.html`` from whatever step outputs are given.

Inputs are files or step folders (searched recursively); known files are recognised by name
(``promoters.tsv``, ``normalized.h5``, ``train_log.tsv``, ``metrics.json``, ``summary.json``...).
Each section is built by one function from the files it needs; a missing or unreadable input
makes that section say what is missing instead of failing the report. The page has no external
references: images are embedded as base64 PNG, CSS is inline, there is no JavaScript.

The page opens with **Summary**: the data (simulated or real, with counts), the task, the
verdict with its n and interval (``summary.json`` of ``tfvocab summarize``; else one fold's
``metrics.json``), a box of warnings (tiny test set, too few positives, a model below chance,
low-signal tracks, a track losing far more windows than the others, dropped pairs, a verdict
that is not "better") and what to look at next. The data part and Data QC show each track's
health from extract (:func:`track_health`: windows masked, NaN/+inf records, promoters with
signal).
Then Evaluation, Data QC, Vocabulary, Training, Interpretation, Predicted network and Run.
Raw JSON is folded away (``<details>``); every figure has a caption saying what it shows and
how to read it. On simulated data (SIMULATE's ``truth/``) the predicted modules are compared
with the planted ones (adjusted Rand index and normalised mutual information, scikit-learn).
When the verdict is not "better", the Interpretation and Predicted network sections open with
a visible note.

``metrics.json`` / ``summary.json`` keys follow docs/formats.md (``universe``,
``truth_universe``, ``control``, ``verdict``, ``verdict_kind``, ``best_baseline``, ``fold``,
``n_folds``; summary: ``models.<name>.<metric>.{mean, ci, per_fold}``, ``difference``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Mapping

from .. import __version__
from ..errors import TfvocabError
from ..io import atomic_path, provenance, write_sidecar
from ..log import get_logger, timed
from ..publish import step_outputs
from .data_qc import section_data_qc, signal_stats
from .evaluation import section_evaluation
from .facts import Evaluation, load_evaluation
from .files import KNOWN, collect_files, is_simulated
from .interpretation import section_interpretation
from .markup import CSS, esc, missing
from .network import section_network
from .run_info import section_run
from .summary import data_facts, section_summary
from .training import section_training
from .vocabulary import section_vocabulary


log = get_logger("report")

SECTIONS = ["Summary", "Evaluation", "Data QC", "Vocabulary", "Training", "Interpretation",
            "Predicted network", "Run"]


def _safe(builder: Callable[[], str], title: str) -> str:
    try:
        return builder()
    except Exception as exc:  # a broken input makes its section say so, not the report fail
        log.warning("report section %s: %s: %s", title, type(exc).__name__, exc)
        return missing("a readable input for this section", f"{type(exc).__name__}: {exc}")


def build_html(files: Mapping[str, list[Path]], inputs: list[Path], title: str = "tfvocab report") -> str:
    """The whole report page as one HTML string (no external references)."""
    try:
        ev = load_evaluation(files)
    except Exception as exc:  # unreadable metrics: the Summary says so
        log.warning("report: evaluation files: %s: %s", type(exc).__name__, exc)
        ev = Evaluation()
    try:
        facts = data_facts(files)
    except Exception as exc:
        log.warning("report: data files: %s: %s", type(exc).__name__, exc)
        facts = {"simulated": is_simulated(files)}
    builders = {
        "Summary": lambda: section_summary(files, ev, facts),
        "Evaluation": lambda: section_evaluation(files, ev),
        "Data QC": lambda: section_data_qc(files, facts),
        "Vocabulary": lambda: section_vocabulary(files),
        "Training": lambda: section_training(files),
        "Interpretation": lambda: section_interpretation(files, ev),
        "Predicted network": lambda: section_network(files, ev),
        "Run": lambda: section_run(files, inputs),
    }
    body, nav = [], []
    for name in SECTIONS:
        sid = name.lower().replace(" ", "-")
        nav.append(f'<a href="#{sid}">{esc(name)}</a>')
        with timed(f"report section {name}", log):
            inner = _safe(builders[name], name)
        body.append(f'<section id="{sid}"><h2>{esc(name)}</h2>\n{inner}\n</section>')
    signal_stats.cache_clear()
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
            f"<header><h1>{esc(title)}</h1><div>tfvocab {esc(__version__)}</div></header>"
            f"<nav>{''.join(nav)}</nav><main>{''.join(body)}</main></body></html>\n")


def run(result_paths: Iterable[str | Path], outdir: str | Path, title: str = "tfvocab report") -> dict[str, Path]:
    """Write ``outdir/report.html`` from the given step outputs (files or folders).

    Returns ``{"report": path}``. The provenance sidecar ``report.html.json`` lists the inputs.
    """
    outdir = Path(outdir)
    inputs = [Path(p) for p in result_paths]
    if not inputs:
        raise TfvocabError("no result paths given", hint="pass step output folders or files")
    files = collect_files(inputs)
    # never read our own previous output back in
    files.pop("report.html", None)
    files.pop("report.html.json", None)
    log.info("report: %d files found (%d known names)", sum(map(len, files.values())),
             len(KNOWN & set(files)))
    page = build_html(files, inputs, title=title)
    params = {"result_paths": [str(p) for p in inputs], "title": title}
    with step_outputs(outdir, "report", params) as out:
        with atomic_path(out.path("report.html")) as tmp:
            tmp.write_text(page, encoding="utf-8")
        write_sidecar(out.path("report.html"), provenance("report", params))
    return {"report": outdir / "report.html"}
