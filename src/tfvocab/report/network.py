"""Predicted network section: modules and hubs, and on simulated data the planted modules recovered."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import pandas as pd

from .facts import Evaluation
from .files import first_file, output_files, read_json, read_tsv, truth_file
from .interpretation import caution_note
from .markup import fmt_value, kv_table, missing, raw_json, table_html
from .plots import module_figure


def module_agreement(pred: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Predicted vs planted modules on the genes in both (sklearn ARI / NMI).

    ``pred``: ``gene_id, module``; ``truth``: ``gene_id, module``. Returns ``ari``, ``nmi``,
    ``n_genes`` (genes in both), ``true_genes_covered`` (fraction of true-module genes that are
    in a predicted module) and the contingency table (true x predicted gene counts).
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    p = pred.drop_duplicates("gene_id").set_index("gene_id")["module"].astype(str)
    t = truth.drop_duplicates("gene_id").set_index("gene_id")["module"].astype(str)
    common = t.index.intersection(p.index)
    out = {"n_genes": int(len(common)), "true_genes": int(len(t)), "true_modules": int(t.nunique()),
           "predicted_modules": int(p.nunique()),
           "true_genes_covered": float(len(common) / max(len(t), 1))}
    if len(common) < 2:
        out.update(ari=float("nan"), nmi=float("nan"), table=pd.DataFrame())
        return out
    out["ari"] = float(adjusted_rand_score(t[common], p[common]))
    out["nmi"] = float(normalized_mutual_info_score(t[common], p[common]))
    out["table"] = pd.crosstab(t[common], p[common])
    return out


def section_network(files: Mapping[str, list[Path]], ev: Evaluation) -> str:
    parts = [caution_note(ev, "The predicted pairs, modules and hub genes below")]
    summ = first_file(files, "predict.summary.json")
    if summ is not None:
        d = read_json(summ)
        d.pop("provenance", None)
        keep = {k: d[k] for k in ("mode", "n_genes", "n_pairs_scored", "top_k", "n_edges",
                                  "n_genes_in_network", "n_modules", "median_edge_score") if k in d}
        parts.append(kv_table(keep, caption="predicted network"))
        parts.append(raw_json(d, "predict.summary.json"))
    pp = first_file(files, "predicted_pairs.tsv")
    if pp is not None and summ is None:
        df = read_tsv(pp)
        parts.append(kv_table({"predicted pairs": len(df),
                               "genes": len(set(df["gene_a"]) | set(df["gene_b"])),
                               "median score": float(df["score"].median()) if len(df) else float("nan")},
                              caption="predicted_pairs.tsv"))
    if pp is None and summ is None:
        parts.append(missing("predicted_pairs.tsv / predict.summary.json"))
    mod = next(iter(output_files(files, "modules.tsv")), None)
    if mod is not None:
        df = read_tsv(mod)
        sizes = df.groupby("module").size().sort_values(ascending=False)
        tab = pd.DataFrame({"module": sizes.index, "genes": sizes.values})
        ex = df.groupby("module")["gene_id"].apply(lambda s: ", ".join(map(str, list(s)[:8])))
        tab["example genes"] = tab["module"].map(ex)
        parts.append(f"<h3>Modules</h3><p class=\"note\">{len(sizes)} modules over {len(df)} genes; "
                     f"largest {int(sizes.iloc[0]) if len(sizes) else 0} genes.</p>")
        parts.append(table_html(tab, max_rows=15))
        tru = truth_file(files, "modules.tsv")
        if tru is not None:
            agree = module_agreement(df, read_tsv(tru))
            parts.append("<h3>Modules against the planted truth</h3>"
                         f"<p>Adjusted Rand index <b>{fmt_value(agree['ari'])}</b>, normalised mutual information "
                         f"<b>{fmt_value(agree['nmi'])}</b> over the {agree['n_genes']} genes that are in both a "
                         f"planted module ({agree['true_modules']} modules, {agree['true_genes']} genes) and a "
                         f"predicted one ({agree['true_genes_covered']:.0%} of the planted genes). "
                         "ARI is 0 for a random partition and 1 for a perfect one; NMI 0..1.</p>")
            parts.append(module_figure(agree["table"]))
    else:
        parts.append(missing("modules.tsv"))
    hubs = first_file(files, "hubs.tsv")
    if hubs is not None:
        parts.append("<h3>Hub genes</h3>" + table_html(read_tsv(hubs), max_rows=15))
    else:
        parts.append(missing("hubs.tsv"))
    return "\n".join(parts)
