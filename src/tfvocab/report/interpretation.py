"""Interpretation section: TF, token and grammar attributions (``tfvocab interpret``)."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

from .facts import Evaluation
from .files import first_file, flatten, read_json, read_tsv
from .markup import esc, kv_table, missing, png_file, raw_json, table_html


def caution_note(ev: Evaluation, what: str) -> str:
    """The visible note of sections that describe the model when the verdict is not "better"."""
    if ev.kind == "better":
        return ""
    base = ev.best_baseline or "the best baseline"
    state = (f"the transformer is {ev.verdict}" if ev.verdict else "there is no verdict for this run")
    return (f'<p class="caution"><b>Read with care:</b> {esc(state)}. {esc(what)} describe what this model '
            f"learned, not biology it has shown to predict better than {esc(base)}.</p>")


def section_interpretation(files: Mapping[str, list[Path]], ev: Evaluation) -> str:
    parts = [caution_note(ev, "The knock-outs, attributions and tokens below")]
    summ = first_file(files, "interpret.summary.json")
    if summ is not None:
        d = read_json(summ)
        d.pop("provenance", None)
        truth = d.get("truth_check")
        keep = {k: d[k] for k in ("n_pairs", "input", "pooling", "mean_score") if k in d}
        comp = d.get("completeness") or {}
        if "max_rel_error" in comp:
            keep["integrated gradients completeness (max relative error)"] = comp["max_rel_error"]
        parts.append(kv_table(keep, caption="interpretation run"))
        if truth:
            parts.append("<h3>Check against the planted truth</h3>" + kv_table(flatten(truth)))
        parts.append(raw_json(d, "interpret.summary.json"))
    ko = first_file(files, "tf_knockout.tsv")
    if ko is not None:
        df = read_tsv(ko)
        agg = (df.groupby("tf")["delta"].agg(["mean", "min", "count"]).sort_values("mean")
               .reset_index().rename(columns={"mean": "mean_delta", "min": "min_delta",
                                              "count": "pairs"}))
        parts.append("<h3>TF knock-outs</h3>" + table_html(
            agg, max_rows=15, caption="TFs whose knock-out (signal set to background) lowers the pair "
                                      "score most: mean change of the predicted probability"))
    else:
        parts.append(missing("tf_knockout.tsv"))
    ti = first_file(files, "token_importance.tsv")
    if ti is not None:
        parts.append("<h3>Most influential tokens</h3>" + table_html(read_tsv(ti), max_rows=15))
    else:
        parts.append(missing("token_importance.tsv"))
    for name in ("attention_profile.png", "token_importance.png"):
        q = first_file(files, name)
        if q is not None:
            parts.append(png_file(q))
    pngs = sorted({p for name, ps in files.items() for p in ps
                   if name.endswith(".png") and name.startswith(("attention_pair", "ig_", "attribution"))})
    if pngs:
        parts.append("<h3>Example pairs</h3>")
        parts.extend(png_file(p) for p in pngs[:3])             # full width: readable heatmap text
        if len(pngs) > 3:
            parts.append(f"<details><summary>{len(pngs) - 3} more example pairs</summary>"
                         + "".join(png_file(p) for p in pngs[3:12]) + "</details>")
    elif ko is None and summ is None:
        parts.append(missing("interpretation heatmaps (ig_*.png)"))
    return "\n".join(parts)
