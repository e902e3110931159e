"""Tuple arity of the channels the workflows build against the inputs of the processes they feed
(tests/nextflow/shapes.py): a too-short tuple, a wrong number of inputs, a closure that
destructures the wrong number of elements or an if-branch that changes a channel's shape fail here,
where the language server (untyped processes) and every other check let them through."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import nfparse as nf
import shapes
from pipeline import ROOT, procs

WORKFLOW = ROOT / "workflows/tfvocab.nf"
INIT = ROOT / "subworkflows/local/utils_nfcore_tfvocab_pipeline/main.nf"


def _tfvocab(text: str | None = None) -> shapes.Report:
    return shapes.check_workflow(WORKFLOW.read_text() if text is None else text, "TFVOCAB", procs())[0]


def test_every_process_call_of_the_workflow_gets_tuples_of_its_declared_arity():
    report = _tfvocab()
    assert not report.errors, "\n".join(report.errors)
    n_inputs = sum(len(shapes.input_arities(procs()[name])) for name in procs())
    assert report.checked == n_inputs and not report.unknown, \
        f"{report.checked} of {n_inputs} process inputs checked; unknown: {report.unknown}"


def test_main_passes_the_initialisation_channels_in_the_shapes_the_workflow_takes():
    _, init_emits = shapes.check_workflow(INIT.read_text(), "PIPELINE_INITIALISATION", procs())
    takes = list(shapes.take_arities(nf.blocks(WORKFLOW.read_text(), "workflow")["TFVOCAB"]).values())
    assert takes[:1] == [1] and None not in takes, f"every take of TFVOCAB documents its shape: {takes}"
    report, _ = shapes.check_workflow((ROOT / "main.nf").read_text(), "", procs(),
                                      subworkflows={"PIPELINE_INITIALISATION": init_emits},
                                      workflow_takes={"TFVOCAB": takes})
    assert not report.errors, "\n".join(report.errors)
    # tracks come from channel.fromList(samplesheetTracks(...)): its items are checked below
    assert report.checked == len(takes) - 1 and report.unknown == ["TFVOCAB input 2: PIPELINE_INITIALISATION.out.tracks"], report.unknown


def test_samplesheet_tracks_are_meta_and_track_pairs():
    """The items samplesheetTracks() returns (EXTRACT's [meta, track], TFVOCAB's ch_tracks)."""
    text = nf.strip_comments(INIT.read_text())
    body = text[text.index("def samplesheetTracks"):]
    items = [m.group(1) for m in re.finditer(r"tracks << (\[.*\])\s*$", body, re.M)]
    items += [m.group(1) for m in re.finditer(r"collect \{ name -> (\[.*\]) \}", body)]
    assert len(items) == 2
    assert [shapes._literal_list_len(i) for i in items] == [2, 2], items
    assert shapes.input_arities(procs()["TFVOCAB_EXTRACT"])[0] == 2


@pytest.mark.parametrize("old, new, expected", [
    # a too-short tuple: TRAIN declares [meta, tokens, normalized, pairs, genes]
    ("-> [meta + [fold: fold, n_folds: params.folds], tokens, normalized, pairs, genes] }",
     "-> [meta + [fold: fold, n_folds: params.folds], tokens, normalized, pairs] }",
     "TFVOCAB_TRAIN input 1 gets 4-element items, TFVOCAB_TRAIN declares 5"),
    # a combine forgotten: EVALUATE loses genes.tsv
    ("        .combine(ch_genes)\n        .combine(ch_prom_tsv)\n", "        .combine(ch_prom_tsv)\n",
     "TFVOCAB_EVALUATE input 1 gets 6-element items, TFVOCAB_EVALUATE declares 7"),
    # a wrong number of inputs
    ("TFVOCAB_MERGE(ch_signals, ch_samplesheet)", "TFVOCAB_MERGE(ch_signals)",
     "TFVOCAB_MERGE takes 2 input channel(s), called with 1"),
    # a closure destructuring 5 elements of the 6-element fold x data tuple
    (".map { fold, meta, tokens, normalized, pairs, genes ->", ".map { fold, meta, tokens, pairs, genes ->",
     "destructures 5 elements of a 6-element tuple"),
    # the simulate branch giving a [meta, truth] tuple where the real-data branch has a path
    ("TFVOCAB_SIMULATE.out.truth.map { _meta, truth -> truth }", "TFVOCAB_SIMULATE.out.truth",
     "ch_truth is a 1-element channel, but the branch makes it 2-element"),
])
def test_planted_shape_errors_are_caught(old, new, expected):
    text = WORKFLOW.read_text()
    assert old in text
    errors = _tfvocab(text.replace(old, new, 1)).errors
    assert any(expected in e for e in errors), errors
