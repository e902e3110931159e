"""Which process selectors of a Nextflow config can match the same process, and what they set.

Nextflow merges every ``process`` setting that matches a task: generic settings < ``withLabel`` <
``withName``, and among selectors of one kind the one read last wins. When two selectors that can
match one process set the same directive, that order, not the code, decides the value: this module
finds such pairs for the directives where the answer must never depend on it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nfparse as nf

#: directives whose value must come from exactly one place per process
GUARDED = ("container", "accelerator", "containerOptions", "clusterOptions")
#: labels a process may carry (nf-core's standard set): a selector is also checked against a
#: process that carries only that label, so that a future module is covered too
STANDARD_LABELS = ("process_single", "process_low", "process_medium", "process_high", "process_long",
                   "process_high_memory", "process_gpu", "error_ignore", "error_retry")


@dataclass(frozen=True)
class ProcessSetting:
    context: str                          # "" (always), "profile <name>"
    selectors: tuple[tuple[str, str], ...]  # (withLabel|withName, pattern), outer first
    directive: str
    setting: nf.Setting

    def where(self, root: Path) -> str:
        sel = " > ".join(f"{k}:'{p}'" for k, p in self.selectors) or "process (every process)"
        try:
            path = self.setting.path.relative_to(root)
        except ValueError:
            path = self.setting.path
        ctx = f"{self.context}, " if self.context else ""
        return f"{sel} ({ctx}{path}:{self.setting.line})"


@dataclass(frozen=True)
class Process:
    name: str                 # simple name
    qualified: str            # e.g. TFVOCAB:TFVOCAB_TRAIN
    labels: tuple[str, ...]


def process_settings(configs: list[Path]) -> list[ProcessSetting]:
    """Every setting in a ``process`` scope of ``configs`` (includes followed; each file once)."""
    seen, out = set(), []
    for config in configs:
        for s in nf.config_settings(config):
            key = (s.path.resolve(), s.line, s.key)
            if key in seen:
                continue
            seen.add(key)
            full = s.full
            if "process" not in full:
                continue
            i = full.index("process")
            context = f"profile {full[1]}" if full[0] == "profiles" and i >= 2 else ""
            rest = full[i + 1:]
            selectors = []
            while rest and rest[0].startswith(("withLabel:", "withName:")):
                kind, _, pattern = rest[0].partition(":")
                selectors.append((kind, pattern))
                rest = rest[1:]
            if rest:
                out.append(ProcessSetting(context, tuple(selectors), ".".join(rest), s))
    return out


def _matches(pattern: str, values) -> bool:
    negate = pattern.startswith("!")
    pattern = pattern[1:] if negate else pattern
    hit = any(re.fullmatch(pattern, v) for v in values)
    return hit != negate


def selects(setting: ProcessSetting, process: Process) -> bool:
    for kind, pattern in setting.selectors:
        values = process.labels if kind == "withLabel" else (process.name, process.qualified)
        if not _matches(pattern, values):
            return False
    return True


def collisions(settings: list[ProcessSetting], processes: list[Process],
               directives=GUARDED) -> list[tuple[Process, str, list[ProcessSetting]]]:
    """``(process, directive, settings)`` wherever more than one setting that can select the same
    process sets the same guarded directive. Every profile counts as active (they combine)."""
    hypothetical = [Process("ANY", "ANY", (label,)) for label in STANDARD_LABELS]
    found, reported = [], set()
    for process in list(processes) + hypothetical:
        for directive in directives:
            hits = [s for s in settings if s.directive == directive and selects(s, process)]
            key = (directive, tuple(sorted(id(h) for h in hits)))
            if len(hits) > 1 and key not in reported:
                reported.add(key)
                found.append((process, directive, hits))
    return found


def describe(found, root: Path) -> str:
    return "\n".join(f"{p.name if p.name != 'ANY' else 'a process labelled ' + p.labels[0]}: `{d}` set by "
                     + " and by ".join(h.where(root) for h in hits) for p, d, hits in found)
