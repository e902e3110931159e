"""Just enough Nextflow/Groovy parsing for the pipeline's contract tests (no Nextflow needed).

Comments are removed with a small scanner that knows Groovy string literals; blocks are found
by brace matching that skips strings, so braces inside ``"${...}"`` or ``'{'`` don't confuse it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_STRING_STARTS = ('"""', "'''", '"', "'")


def _string_end(text: str, i: int) -> int:
    """Index just past the string literal starting at ``text[i]``."""
    for q in _STRING_STARTS:
        if text.startswith(q, i):
            j = i + len(q)
            while j < len(text):
                if text[j] == "\\":
                    j += 2
                    continue
                if text.startswith(q, j):
                    return j + len(q)
                if len(q) == 1 and text[j] == "\n":      # unterminated one-line string
                    return j
                j += 1
            return len(text)
    raise ValueError("no string literal here")


def strip_comments(text: str) -> str:
    """``text`` with ``//`` and ``/* */`` comments blanked (newlines kept, so line numbers hold)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            j = _string_end(text, i)
            out.append(text[i:j])
            i = j
        elif text.startswith("//", i) and not text[max(0, i - 1)] == ":":   # keep URLs (http://)
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(ch for ch in text[i:j] if ch == "\n"))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def match_brace(text: str, open_idx: int) -> int:
    """Index of the ``}`` closing the ``{`` at ``open_idx`` (strings skipped)."""
    depth, i = 0, open_idx
    while i < len(text):
        c = text[i]
        if c in "\"'":
            i = _string_end(text, i)
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError(f"unbalanced braces from offset {open_idx}")


def blocks(text: str, keyword: str) -> dict[str, str]:
    """``{name: body}`` of every ``<keyword> NAME { ... }`` (``workflow { }`` is named '')."""
    found = {}
    for m in re.finditer(rf"(?m)^\s*{keyword}(?:\s+(\w+))?\s*\{{", text):
        start = m.end() - 1
        found[m.group(1) or ""] = text[start + 1:match_brace(text, start)]
    return found


def scope_body(text: str, pattern: str) -> str | None:
    """Body of the first block opened by regex ``pattern`` (which must end just before ``{``)."""
    m = re.search(pattern + r"\s*\{", text)
    if not m:
        return None
    start = m.end() - 1
    return text[start + 1:match_brace(text, start)]


SECTIONS = ("input", "output", "when", "script", "shell", "exec", "stub")


def sections(process_body: str) -> dict[str, str]:
    """Split a process body at ``input:``/``output:``/``script:``... labels; directives under ''."""
    parts = re.split(rf"(?m)^\s*({'|'.join(SECTIONS)}):[ \t]*$", process_body)
    out = {"": parts[0]}
    for name, body in zip(parts[1::2], parts[2::2]):
        out[name] = body
    return out


def string_literals(text: str) -> list[str]:
    """Contents of every string literal in ``text``, in order."""
    lits, i = [], 0
    while i < len(text):
        if text[i] in "\"'":
            j = _string_end(text, i)
            q = next(q for q in _STRING_STARTS if text.startswith(q, i))
            lits.append(text[i + len(q):j - len(q)])
            i = j
        else:
            i += 1
    return lits


@dataclass
class Process:
    name: str
    path: Path
    body: str
    sections: dict[str, str] = field(default_factory=dict)

    @property
    def directives(self) -> str:
        return self.sections.get("", "")

    @property
    def emits(self) -> list[str]:
        return re.findall(r"emit:\s*(\w+)", self.sections.get("output", ""))

    @property
    def inputs(self) -> list[str]:
        """Input declarations, one per line (``tuple val(meta), path(x)``...)."""
        return [ln.strip() for ln in self.sections.get("input", "").splitlines() if ln.strip()]

    @property
    def input_names(self) -> list[str]:
        return re.findall(r"\b(?:val|path|env)\(\s*(\w+)", self.sections.get("input", ""))

    @property
    def script(self) -> str:
        return self.sections.get("script", "")

    @property
    def script_defs(self) -> dict[str, str]:
        """``def NAME = <expr>`` lines of the script section (before its command string)."""
        return dict(re.findall(r"(?m)^\s*def\s+(\w+)\s*=\s*(.+?)\s*$", self.script))

    @property
    def command_lines(self) -> list[str]:
        """Lines of the script's command string(s) that run ``tfvocab <step>``."""
        cmd = "\n".join(s for s in string_literals(self.script) if "\n" in s)
        return [ln.strip() for ln in cmd.splitlines() if re.match(r"\s*tfvocab\s+[a-z]", ln)]


def processes(path: Path) -> dict[str, Process]:
    text = strip_comments(Path(path).read_text())
    return {name: Process(name, Path(path), body, sections(body))
            for name, body in blocks(text, "process").items()}


def workflows(path: Path) -> dict[str, str]:
    return blocks(strip_comments(Path(path).read_text()), "workflow")


def workflow_emits(body: str) -> list[str]:
    m = re.search(r"(?m)^\s*emit:\s*$", body)
    if not m:
        return []
    return re.findall(r"(?m)^\s*(\w+)\s*=", body[m.end():])


def includes(path: Path) -> list[tuple[str, str, str]]:
    """``(name, alias, source)`` for every ``include { A; B as C } from 'source'``."""
    out = []
    text = strip_comments(Path(path).read_text())
    for m in re.finditer(r"include\s*\{([^}]*)\}\s*from\s*['\"]([^'\"]+)['\"]", text):
        for item in m.group(1).split(";"):
            item = item.strip()
            if not item:
                continue
            name, _, alias = item.partition(" as ")
            out.append((name.strip(), (alias or name).strip(), m.group(2)))
    return out


def config_params(path: Path) -> dict[str, str]:
    """``{name: raw value}`` assigned in every ``params { }`` block (and ``params.x = ...``)."""
    text = strip_comments(Path(path).read_text())
    found = {}
    for m in re.finditer(r"(?m)^\s*params\s*\{", text):
        start = m.end() - 1
        body = text[start + 1:match_brace(text, start)]
        depth_zero = _top_level(body)
        found.update(dict(re.findall(r"(?m)^\s*(\w+)\s*=\s*(.+?)\s*$", depth_zero)))
    found.update(dict(re.findall(r"(?m)^\s*params\.(\w+)\s*=\s*(.+?)\s*$", text)))
    return found


def _top_level(body: str) -> str:
    """``body`` with nested ``{...}`` blocks removed."""
    out, i = [], 0
    while i < len(body):
        if body[i] in "\"'":
            j = _string_end(body, i)
            out.append(body[i:j])
            i = j
        elif body[i] == "{":
            i = match_brace(body, i) + 1
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


def literal(raw: str):
    """Python value of a simple Groovy literal (string, number, boolean, null); else the raw text."""
    raw = raw.strip().rstrip(",")
    if raw in ("null",):
        return None
    if raw in ("true", "false"):
        return raw == "true"
    if re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if re.fullmatch(r"-?\d+\.\d*([eE]-?\d+)?", raw):
        return float(raw)
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        return raw[1:-1]
    return raw


def with_name_blocks(config_text: str) -> dict[str, str]:
    """``{selector: body}`` of every ``withName: 'X' { }`` in a config text."""
    text = strip_comments(config_text)
    out = {}
    for m in re.finditer(r"withName\s*:\s*['\"]?([\w.*|:]+)['\"]?\s*\{", text):
        start = m.end() - 1
        out[m.group(1)] = text[start + 1:match_brace(text, start)]
    return out


def closure_or_value(body: str, key: str) -> str | None:
    """Source of ``key = { ... }`` (closure body) or ``key = <expr>`` in a selector body."""
    m = re.search(rf"(?m)^\s*{re.escape(key)}\s*=\s*", body)
    if not m:
        return None
    i = m.end()
    if body[i] == "{":
        return body[i + 1:match_brace(body, i)]
    if body[i] == "[":
        depth, j = 0, i
        while j < len(body):
            if body[j] in "\"'":
                j = _string_end(body, j)
                continue
            depth += body[j] == "["
            depth -= body[j] == "]"
            if depth == 0:
                return body[i:j + 1]
            j += 1
    return body[i:body.find("\n", i)]


# --------------------------------------------------------------------------------------------
# Nextflow configs as a list of settings (scope path, value source), includes followed
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Setting:
    """One ``a.b.c = value`` of a config file, with the enclosing blocks in ``scope``.

    ``scope`` holds block names and selectors as written, e.g. ``('profiles', 'gpu', 'process',
    "withLabel:process_gpu")``; ``key`` the (possibly dotted) name assigned; ``value`` its source.
    """

    scope: tuple[str, ...]
    key: str
    value: str
    path: Path
    line: int

    @property
    def full(self) -> tuple[str, ...]:
        return self.scope + tuple(self.key.split("."))


_SELECTOR = re.compile(r"(withLabel|withName)\s*:\s*(?:'([^']*)'|\"([^\"]*)\"|([^\s{]+))\s*\{")
_BLOCK = re.compile(r"([A-Za-z_$][\w$]*)\s*\{")
_ASSIGN = re.compile(r"([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)\s*=(?!=)\s*")
_INCLUDE = re.compile(r"includeConfig\s+")


def _value_end(text: str, i: int) -> int:
    """End of the value starting at ``text[i]``: the end of the line, past balanced brackets."""
    depth = 0
    while i < len(text):
        c = text[i]
        if c in "\"'":
            i = _string_end(text, i)
            continue
        if c in "{[(":
            depth += 1
        elif c in "}])":
            if depth == 0:
                return i
            depth -= 1
        elif c == "\n" and depth == 0:
            return i
        i += 1
    return i


def _line_of(text: str, i: int) -> int:
    return text.count("\n", 0, i) + 1


def config_settings(path: Path, scope: tuple[str, ...] = (), _text: str | None = None,
                    _offset_text: str | None = None) -> list[Setting]:
    """Every setting of the config file ``path`` (and of the files it includes with a literal
    ``includeConfig 'file'``, which are read in the scope of the include), in file order."""
    path = Path(path)
    text = strip_comments(path.read_text()) if _text is None else _text
    out: list[Setting] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace() or text[i] == ";":
            i += 1
            continue
        m = _SELECTOR.match(text, i)
        if m:
            selector = f"{m.group(1)}:{next(g for g in m.groups()[1:] if g is not None)}"
            start = m.end() - 1
            end = match_brace(text, start)
            out += _settings_in(path, text, start + 1, end, scope + (selector,))
            i = end + 1
            continue
        m = _INCLUDE.match(text, i)
        if m:
            end = _value_end(text, m.end())
            expr = text[m.end():end].strip()
            lit = literal(expr)
            if isinstance(lit, str) and lit != expr and "$" not in lit:
                target = (path.parent / lit)
                if target.is_file():
                    out += config_settings(target, scope)
            i = end
            continue
        m = _ASSIGN.match(text, i)
        if m:
            end = _value_end(text, m.end())
            out.append(Setting(scope, m.group(1), text[m.end():end].strip(), path, _line_of(text, i)))
            i = end
            continue
        m = _BLOCK.match(text, i)
        if m:
            start = m.end() - 1
            end = match_brace(text, start)
            out += _settings_in(path, text, start + 1, end, scope + (m.group(1),))
            i = end + 1
            continue
        # anything else (a bare statement): skip to the end of the line
        i = _value_end(text, i) + 1
    return out


def _settings_in(path: Path, text: str, start: int, end: int, scope: tuple[str, ...]) -> list[Setting]:
    """Settings of the block body ``text[start:end]`` (line numbers of the whole file kept)."""
    body = "".join(ch if ch == "\n" else " " for ch in text[:start]) + text[start:end]
    return config_settings(path, scope, _text=body)


def top_level_params(path: Path) -> dict[str, str]:
    """``{name: raw value}`` of the params the config sets outside any profile (``params { }``,
    ``params.x = ``), includes followed."""
    found = {}
    for s in config_settings(path):
        full = s.full
        if full[0] == "params" and len(full) == 2:
            found[full[1]] = s.value
    return found


def profile_params(path: Path) -> dict[str, dict[str, str]]:
    """``{profile: {param: raw value}}`` set inside ``profiles { name { ... } }``."""
    found: dict[str, dict[str, str]] = {}
    for s in config_settings(path):
        full = s.full
        if len(full) == 4 and full[0] == "profiles" and full[2] == "params":
            found.setdefault(full[1], {})[full[3]] = s.value
    return found
