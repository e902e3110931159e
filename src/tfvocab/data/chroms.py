"""Chromosome-name harmonisation between GFF3, FASTA and bigWig files.

The same *Arabidopsis thaliana* chromosome is called ``NC_003070.9`` (RefSeq), ``CP002684.1``
(GenBank), ``Chr1`` (TAIR/Araport), ``chr1`` (UCSC style), ``1`` (Ensembl Plants), ``CHR1`` or
``At1`` depending on the source; the organelles are ``ChrC``/``Pt``/``NC_000932.1`` and
``ChrM``/``Mt``/``NC_037304.1``. :func:`canonical` maps any of these spellings to one canonical
form (``Chr1`` .. ``Chr5``, ``ChrC``, ``ChrM``; other numbered chromosomes ``chr7``/``7`` ->
``Chr7``), and :func:`resolve` / :func:`build_mapping` map every *source* name (e.g. the GFF
seqids) to a *target* name (e.g. the FASTA or bigWig chromosomes), trying in order:

1. an explicit alias table (``--chrom-alias`` TSV: two columns ``name``, ``alias``; each row
   declares the two names equivalent, rows chain into groups of equivalent names);
2. an exact match;
3. a canonical-form match, used only when exactly one target has the source's canonical form.

A source matching two targets (through aliases or canonical forms), or two sources landing on the
same target, is an error naming both: names are never guessed. Sources that match nothing stay
unmapped and are listed, so the caller can decide between a warning and an error.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from ..errors import TfvocabError

#: Sequence accessions (without version) of the TAIR10 assembly -> canonical name.
ACCESSIONS = {
    # RefSeq (GCF_000001735.4, TAIR10.1)
    "NC_003070": "Chr1", "NC_003071": "Chr2", "NC_003074": "Chr3", "NC_003075": "Chr4",
    "NC_003076": "Chr5", "NC_037304": "ChrM", "NC_001284": "ChrM", "NC_000932": "ChrC",
    # GenBank (GCA_000001735)
    "CP002684": "Chr1", "CP002685": "Chr2", "CP002686": "Chr3", "CP002687": "Chr4",
    "CP002688": "Chr5", "BK010421": "ChrM", "Y08501": "ChrM", "AP000423": "ChrC",
}

_ORGANELLE = {
    "c": "ChrC", "pt": "ChrC", "cp": "ChrC", "chloroplast": "ChrC", "plastid": "ChrC",
    "m": "ChrM", "mt": "ChrM", "mito": "ChrM", "mitochondria": "ChrM", "mitochondrion": "ChrM",
}
_PREFIX = re.compile(r"^(?:chromosome|chrom|chr|ath|at)?[_\-\s]?", re.IGNORECASE)
_ACCESSION = re.compile(r"^([A-Z]{1,2}_?\d+)(?:\.\d+)?$", re.IGNORECASE)


def canonical(name: str) -> str | None:
    """Canonical form of a chromosome name, or ``None`` when it is not recognised.

    ``NC_003070.9``, ``CP002684.1``, ``Chr1``, ``chr1``, ``CHR1``, ``chr01``, ``1``, ``At1``,
    ``Chromosome1`` -> ``Chr1``; ``ChrC``/``Pt``/``chloroplast``/``NC_000932.1`` -> ``ChrC``;
    ``ChrM``/``Mt``/``mitochondria``/``NC_037304.1`` -> ``ChrM``; any other ``chr<N>``/``<N>``
    -> ``Chr<N>``. Scaffolds, contigs and unknown accessions -> ``None``.
    """
    text = str(name).strip()
    if not text:
        return None
    acc = _ACCESSION.match(text)
    if acc and acc.group(1).upper() in ACCESSIONS:
        return ACCESSIONS[acc.group(1).upper()]
    rest = _PREFIX.sub("", text, count=1).lower()
    if rest.isdigit():
        return f"Chr{int(rest)}"
    if rest in _ORGANELLE:
        return _ORGANELLE[rest]
    return None


def read_aliases(path: str | Path) -> list[tuple[str, str]]:
    """Read a chromosome alias table: TSV with two columns ``name``, ``alias`` per line.

    Blank lines and ``#`` comments are skipped; a first line ``name<TAB>alias`` is a header.
    Returns the list of ``(name, alias)`` pairs. A line without exactly two non-empty columns
    raises :class:`TfvocabError` naming the line number.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise TfvocabError(f"cannot read chromosome alias table: {exc}", path=str(path)) from None
    pairs: list[tuple[str, str]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cols = [c.strip() for c in line.rstrip("\n").split("\t")]
        if len(cols) != 2 or not all(cols):
            raise TfvocabError(f"expected 2 tab-separated columns (name, alias), found {len(cols)}",
                               path=str(path), record=f"line {lineno}")
        if not pairs and [c.lower() for c in cols] == ["name", "alias"]:
            continue  # header
        pairs.append((cols[0], cols[1]))
    return pairs


def alias_groups(aliases: Iterable[tuple[str, str]] | Mapping[str, str] | None) -> dict[str, frozenset]:
    """Group alias pairs into classes of equivalent names: ``name -> frozenset(all its names)``."""
    if aliases is None:
        return {}
    pairs = aliases.items() if isinstance(aliases, Mapping) else aliases
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, set] = {}
    for x in list(parent):
        groups.setdefault(find(x), set()).add(x)
    return {x: frozenset(groups[find(x)]) for x in parent}


@dataclass
class ChromMapping:
    """Result of :func:`resolve`: ``mapping`` source -> target, how each was matched, and the
    source names left unmapped (in input order)."""

    mapping: dict[str, str] = field(default_factory=dict)
    method: dict[str, str] = field(default_factory=dict)  # source -> 'alias'|'exact'|'canonical'
    unmapped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-friendly report: ``{"mapped": {src: {"target", "method"}}, "unmapped": [...]}``."""
        return {"mapped": {s: {"target": t, "method": self.method[s]} for s, t in self.mapping.items()},
                "unmapped": list(self.unmapped)}


def resolve(source_names: Iterable[str], target_names: Iterable[str],
            aliases: Iterable[tuple[str, str]] | Mapping[str, str] | None = None,
            source_label: str = "source", target_label: str = "target") -> ChromMapping:
    """Map each source chromosome name to at most one target name (see module docstring).

    ``source_names``, ``target_names``: iterables of str (duplicates ignored, order kept).
    ``aliases``: ``(name, alias)`` pairs or a ``{name: alias}`` dict. ``source_label`` /
    ``target_label`` name the two sides (e.g. file paths) in error messages.
    Raises :class:`TfvocabError` when a source has two candidate targets or two sources share
    one target.
    """
    sources = list(dict.fromkeys(str(s) for s in source_names))
    targets = list(dict.fromkeys(str(t) for t in target_names))
    target_set = set(targets)
    groups = alias_groups(aliases)
    by_canon: dict[str, list[str]] = {}
    for t in targets:
        c = canonical(t)
        if c is not None:
            by_canon.setdefault(c, []).append(t)

    result = ChromMapping()
    for s in sources:
        hits = [t for t in targets if t in groups[s] and t != s] if s in groups else []
        if hits and s not in target_set:
            if len(hits) > 1:
                raise TfvocabError(f"chromosome '{s}' ({source_label}) is an alias of several "
                                   f"{target_label} names: '{hits[0]}' and '{hits[1]}'",
                                   hint="fix the --chrom-alias table")
            result.mapping[s], result.method[s] = hits[0], "alias"
            continue
        if s in target_set:
            result.mapping[s], result.method[s] = s, "exact"
            continue
        c = canonical(s)
        cands = by_canon.get(c, []) if c is not None else []
        if len(cands) > 1:
            raise TfvocabError(f"chromosome '{s}' ({source_label}) is ambiguous: both '{cands[0]}' "
                               f"and '{cands[1]}' ({target_label}) look like {c}",
                               hint="give the intended one in a --chrom-alias table")
        if cands:
            result.mapping[s], result.method[s] = cands[0], "canonical"
        else:
            result.unmapped.append(s)

    seen: dict[str, str] = {}
    for s, t in result.mapping.items():
        if t in seen:
            raise TfvocabError(f"chromosomes '{seen[t]}' and '{s}' ({source_label}) both map to "
                               f"'{t}' ({target_label})", hint="rename one or use --chrom-alias")
        seen[t] = s
    return result


def build_mapping(source_names: Iterable[str], target_names: Iterable[str],
                  aliases: Iterable[tuple[str, str]] | Mapping[str, str] | None = None) -> dict[str, str]:
    """``{source: target}`` for every source name that maps (see :func:`resolve`)."""
    return resolve(source_names, target_names, aliases).mapping
