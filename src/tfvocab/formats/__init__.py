"""The file contract between steps: the one writer and the one reader of every artifact.

No step opens an artifact with h5py or torch directly; each goes through this package, which
checks the kind, datasets, shapes, dtypes and attributes of what it reads and turns every
low-level failure into one :class:`~tfvocab.errors.TfvocabError` line (the file, what is wrong,
which step to rerun). Every windowed artifact carries its window :class:`Geometry`; every
artifact records its lineage (digests of what it was made from), so a step given artifacts of
different lineages refuses them (:func:`check_lineage`). Layouts: docs/formats.md.

| artifact | writer | reader |
|---|---|---|
| promoters.tsv | :func:`write_promoters` | :func:`read_promoters` |
| signal.<tf>.h5 | :func:`write_track` | :func:`read_track` |
| signal.h5 | :class:`SignalWriter` | :class:`SignalFile` |
| normalized.h5 | :class:`NormalizedWriter` | :class:`NormalizedFile`, :func:`read_stats` |
| tokens.h5 | :func:`write_tokens` | :func:`read_tokens` |
| pairs.tsv | :func:`write_pairs` | :func:`read_pairs` |
| genes.tsv | :func:`write_genes` | :func:`read_genes` |
| model.pt | :func:`write_model` | :func:`read_model` |
| checkpoint.pt | :func:`write_checkpoint` | :func:`read_checkpoint` |
| attention.h5, attributions.h5 | :func:`write_results` | (people, the report) |
"""
from .core import (KINDS, Geometry, check_file, check_lineage, digest, reading, short,
                   strings_digest)
from .model import plain, read_checkpoint, read_model, write_checkpoint, write_model
from .normalized import NormalizedFile, NormalizedWriter, read_stats, stats_digest
from .signal import SignalFile, SignalWriter, Track, check_tracks, read_sources, read_track, write_track
from .tables import (GENES_COLUMNS, PAIR_COLUMNS, PROMOTER_COLUMNS, promoters_digest, read_genes, read_pairs,
                     read_promoters, sidecar, write_genes, write_pairs, write_promoters)
from .results import write_results
from .tokens import read_tokens, write_tokens

__all__ = [
    "KINDS", "Geometry", "check_file", "check_lineage", "digest", "reading", "short", "strings_digest",
    "plain", "read_checkpoint", "read_model", "write_checkpoint", "write_model",
    "NormalizedFile", "NormalizedWriter", "read_stats", "stats_digest",
    "SignalFile", "SignalWriter", "Track", "check_tracks", "read_sources", "read_track", "write_track",
    "GENES_COLUMNS", "PAIR_COLUMNS", "PROMOTER_COLUMNS", "promoters_digest", "read_genes", "read_pairs",
    "read_promoters", "sidecar", "write_genes", "write_pairs", "write_promoters", "read_tokens", "write_tokens", "write_results",
]
