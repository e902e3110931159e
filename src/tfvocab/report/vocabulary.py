"""Vocabulary section: the learned TF tokens (``vocabulary.tsv``)."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

from .files import first_file, read_tsv
from .markup import missing, png_file, table_html
from .plots import vocab_heatmap


def section_vocabulary(files: Mapping[str, list[Path]]) -> str:
    parts = []
    voc = first_file(files, "vocabulary.tsv")
    png = first_file(files, "vocabulary.png")
    if voc is not None:
        df = read_tsv(voc)
        for c in ("top_tfs", "top_weights"):
            if c in df:
                df[c] = df[c].fillna("")
        # learned tokens are kind "cluster" (docs/formats.md); mask / unbound (null) are special
        n_special = int((~df["kind"].isin(["cluster", "window"])).sum()) if "kind" in df else 0
        parts.append(f'<p class="note">{len(df)} tokens ({n_special} special).</p>')
        parts.append(vocab_heatmap(df))
        cols = [c for c in ["token", "kind", "count", "frequency", "top_tfs", "top_weights", "mean_offset"]
                if c in df.columns]
        top = df.sort_values("count", ascending=False) if "count" in df else df
        parts.append("<details><summary>the 25 most frequent tokens as a table</summary>"
                     + table_html(top[cols] if cols else top, max_rows=25) + "</details>")
    else:
        parts.append(missing("vocabulary.tsv"))
    if png is not None:
        parts.append("<details><summary>the tokenize step's own heatmap (vocabulary.png)</summary>"
                     + png_file(png) + "</details>")
    return "\n".join(parts)
