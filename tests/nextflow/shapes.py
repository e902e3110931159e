"""Tuple arity of the channels a workflow builds, checked against the processes it calls.

The Nextflow language server's type checker knows nothing of the tuples a legacy (untyped) process
declares: a channel of ``[meta, tokens, normalized]`` given to ``tuple val(meta), path(tokens),
path(normalized), path(pairs)`` passes it and fails only at run time. This follows the arity
(number of elements per item) of every channel expression of a workflow body:

* ``P.out.x``: the elements of output ``x`` of process ``P``;
* ``channel.of/value([a, b, ...])``: the list literal's length (``channel.value(file(..))``: 1);
* ``.map { a, b -> [x, y, z] }``: the returned list literal's length (1 for any other value),
  and the closure's parameters must destructure the incoming arity;
* ``.combine(other)``: the sum; ``.filter/.first/.unique/.mix/.view``: unchanged;
* a call of a ``def`` of the same file: its ``return`` expression, with the argument bound;
* ``take:`` channels: the ``// channel: [a, b]`` comment that documents them;
* a variable reassigned inside ``if`` keeps its arity, or the branch is an error;
and reports every process argument whose arity differs from the input declaration (unknown
arities are skipped and counted).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import nfparse as nf

UNKNOWN = None


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    checked: int = 0
    unknown: list[str] = field(default_factory=list)


def _split_top(text: str, sep: str = ",") -> list[str]:
    """``text`` split at ``sep`` outside brackets and strings."""
    parts, depth, cur, i = [], 0, [], 0
    while i < len(text):
        c = text[i]
        if c in "\"'":
            j = nf._string_end(text, i)
            cur.append(text[i:j])
            i = j
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def _close(text: str, i: int) -> int:
    """Index of the bracket closing ``text[i]`` (any of ( [ {), strings skipped."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    stack, j = [], i
    while j < len(text):
        c = text[j]
        if c in "\"'":
            j = nf._string_end(text, j)
            continue
        if c in pairs:
            stack.append(pairs[c])
        elif stack and c == stack[-1]:
            stack.pop()
            if not stack:
                return j
        j += 1
    raise ValueError(f"unbalanced: {text[i:i + 60]!r}")


def output_arity(decl: str) -> int:
    return len(re.findall(r"\b(?:val|path|env|eval)\s*\(", decl)) or (1 if re.match(r"\s*(path|val)\s", decl) else 0)


def input_arities(process: nf.Process) -> list[int]:
    return [output_arity(line) for line in process.inputs]


def process_outputs(process: nf.Process) -> dict[str, int]:
    out = {}
    for line in process.sections.get("output", "").splitlines():
        m = re.search(r"emit:\s*(\w+)", line)
        if m:
            out[m.group(1)] = output_arity(line)
    return out


def _literal_list_len(expr: str) -> int | None:
    expr = expr.strip()
    if expr.startswith("[") and _close(expr, 0) == len(expr) - 1:
        inner = expr[1:-1].strip()
        if not inner or re.match(r"^\w+\s*:", inner):          # [] (no file) or a map literal [a: 1]
            return 1
        return len(_split_top(inner))
    return UNKNOWN


def _closure_parts(closure: str) -> tuple[list[str], str]:
    """(parameter names, last statement) of ``{ a, b -> body }``."""
    body = closure.strip()[1:-1]
    arrow = re.match(r"\s*([\w\s,]*?)\s*->", body)
    params = [p.strip() for p in arrow.group(1).split(",") if p.strip()] if arrow else []
    rest = body[arrow.end():] if arrow else body
    statements = [s for s in rest.strip().splitlines() if s.strip()]
    last = statements[-1].strip() if statements else ""
    return params, last


class Workflow:
    """Arity inference over one workflow body; ``processes`` maps names to nf.Process."""

    def __init__(self, body: str, processes: dict[str, nf.Process], functions: dict[str, tuple[list[str], str]],
                 subworkflows: dict[str, dict[str, int]] | None = None,
                 workflow_takes: dict[str, list[int | None]] | None = None):
        self.body = body
        self.processes = processes
        self.functions = functions
        self.subworkflows = subworkflows or {}        # name -> {emit: arity}
        self.workflow_takes = workflow_takes or {}    # name -> [arity of each take]
        self.vars: dict[str, int | None] = {}
        self.report = Report()

    # -- expressions ----------------------------------------------------------------------------
    def arity(self, expr: str, where: str) -> int | None:
        expr = expr.strip()
        while expr.startswith("(") and _close(expr, 0) == len(expr) - 1:
            expr = expr[1:-1].strip()
        # a ternary at the top level: both branches must agree
        tern = self._ternary(expr)
        if tern:
            a, b = (self.arity(x, where) for x in tern[1:])
            if "any" in (a, b):          # channel.empty() on one side: the other decides
                return b if a == "any" else a
            return a if a == b else UNKNOWN
        head, rest = self._primary(expr, where)
        shape = head
        while rest:
            m = re.match(r"\s*\.\s*(\w+)", rest)
            if not m:
                return UNKNOWN
            name, rest = m.group(1), rest[m.end():]
            args, closure = None, None
            if rest.lstrip().startswith("("):
                i = rest.index("(")
                j = _close(rest, i)
                args, rest = rest[i + 1:j], rest[j + 1:]
            if rest.lstrip().startswith("{"):
                i = rest.index("{")
                j = _close(rest, i)
                closure, rest = rest[i:j + 1], rest[j + 1:]
            shape = self._operator(name, shape, args, closure, where)
        return shape

    def _ternary(self, expr: str):
        depth, i = 0, 0
        q = c = None
        while i < len(expr):
            ch = expr[i]
            if ch in "\"'":
                i = nf._string_end(expr, i)
                continue
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth -= 1
            elif depth == 0 and ch == "?" and expr[i + 1:i + 2] not in (":", ".") and q is None:
                q = i
            elif depth == 0 and ch == ":" and q is not None and expr[i - 1] != "?":
                c = i
                break
            i += 1
        if q is not None and c is not None:
            return expr[:q], expr[q + 1:c], expr[c + 1:]
        return None

    def _primary(self, expr: str, where: str) -> tuple[int | None, str]:
        m = re.match(r"([A-Z][A-Z0-9_]*)\.out\.(\w+)", expr)
        if m:
            name, emit = m.group(1), m.group(2)
            if name in self.processes:
                return process_outputs(self.processes[name]).get(emit, UNKNOWN), expr[m.end():]
            return self.subworkflows.get(name, {}).get(emit, UNKNOWN), expr[m.end():]
        m = re.match(r"channel\s*\.\s*(\w+)\s*\(", expr, re.I)
        if m:
            i = m.end() - 1
            j = _close(expr, i)
            args = expr[i + 1:j]
            kind = m.group(1)
            if kind == "empty":
                shape = "any"
            elif kind in ("of", "value"):
                shape = self._list_len(args)
                if shape is UNKNOWN:
                    shape = self._value_arity(args, where)
            elif kind == "fromList" and ".." in args:
                shape = 1
            else:
                shape = UNKNOWN
            return shape, expr[j + 1:]
        m = re.match(r"(\w+)\s*\(", expr)
        if m and m.group(1) in self.functions:
            i = m.end() - 1
            j = _close(expr, i)
            params, ret = self.functions[m.group(1)]
            args = _split_top(expr[i + 1:j])
            saved = dict(self.vars)
            for p, a in zip(params, args):
                self.vars[p] = self.arity(a, where)
            shape = self.arity(ret, where)
            self.vars = saved
            return shape, expr[j + 1:]
        if expr.startswith("["):                            # a list or map literal (a plain value)
            j = _close(expr, 0)
            return (1 if re.match(r"^\[\s*\w+\s*:", expr) else UNKNOWN), expr[j + 1:]
        if re.match(r"file\s*\(", expr):
            j = _close(expr, expr.index("("))
            return 1, expr[j + 1:]
        if re.match(r"null\b", expr):
            return "any", expr[4:]
        m = re.match(r"(\w+)", expr)
        if m and m.group(1) in self.vars:
            return self.vars[m.group(1)], expr[m.end():]
        return UNKNOWN, ""

    def _list_len(self, expr: str) -> int | None:
        """Length of a list expression: a literal, a ternary of equal-length literals, a call of a
        def returning one, or a ``+`` of those."""
        parts = _split_top(expr, "+")
        if len(parts) > 1:
            lens = [self._list_len(p) for p in parts]
            return None if None in lens else sum(lens)
        expr = expr.strip()
        n = _literal_list_len(expr)
        if n is not None:
            return n if not re.match(r"^\[\s*\w+\s*:", expr) else None   # a map is not a list
        tern = self._ternary(expr)
        if tern:
            a, b = self._list_len(tern[1]), self._list_len(tern[2])
            return a if a == b else None
        m = re.match(r"(\w+)\s*\(", expr)
        if m and m.group(1) in self.functions and _close(expr, m.end() - 1) == len(expr) - 1:
            return self._list_len(self.functions[m.group(1)][1])
        return None

    def _value_arity(self, expr: str, where: str) -> int | None:
        """Arity of the one item of ``channel.value(expr)`` when ``expr`` is not a list."""
        expr = expr.strip()
        if re.match(r"(file\(|\w+\s*\+\s*\[\s*\w+\s*:)", expr) or re.match(r"^\[\s*\w+\s*:", expr):
            return 1                                          # a file, or a map (meta + [...])
        if re.fullmatch(r"\w+", expr):
            return self.vars.get(expr, UNKNOWN)
        return UNKNOWN

    def _operator(self, name, shape, args, closure, where):
        if name in ("filter", "first", "unique", "view", "take", "until", "distinct"):
            return shape
        if name == "mix":
            return shape
        if name == "combine" and args is not None:
            other = self.arity(args, where)
            if shape in (UNKNOWN, "any") or other in (UNKNOWN, "any"):
                return UNKNOWN
            return shape + other
        if name in ("map", "flatMap") and closure:
            params, last = _closure_parts(closure)
            if len(params) > 1 and isinstance(shape, int) and len(params) != shape:
                self.report.errors.append(f"{where}: `.{name} {{ {', '.join(params)} -> }}` destructures {len(params)} elements of a {shape}-element tuple")
            if name == "flatMap":
                return UNKNOWN
            n = _literal_list_len(last)
            return n if n is not None else 1
        if name in ("collect", "toList", "toSortedList"):
            return UNKNOWN
        return UNKNOWN

    # -- statements -----------------------------------------------------------------------------
    def statements(self, text: str) -> list[str]:
        """Logical statements: continuation lines (starting with '.') and open brackets joined."""
        lines, out, buf, depth = text.splitlines(), [], "", 0
        for line in lines:
            s = line.strip()
            if not s:
                continue
            if buf and (depth > 0 or s.startswith(".")):
                buf += "\n" + s
            else:
                if buf:
                    out.append(buf)
                buf = s
            depth = _depth(buf)
        if buf:
            out.append(buf)
        return out

    def run(self, takes: dict[str, int | None]) -> Report:
        self.vars.update(takes)
        self._block(self.body, "workflow", in_branch=False)
        return self.report

    def _block(self, text: str, where: str, in_branch: bool):
        for st in self.statements(text):
            m = re.match(r"if\s*\(", st)
            if m:
                i = st.index("{")
                self._block(st[i + 1:_close(st, i)], where, in_branch=True)
                continue
            m = re.match(r"(?:def\s+)?(\w+)\s*=(?!=)\s*(.+)$", st, re.S)
            if m and not st.startswith(("emit", "take", "main")):
                name, expr = m.group(1), m.group(2)
                shape = self.arity(expr, f"{where}: {name} =")
                before = self.vars.get(name, "unset")
                if in_branch and before not in ("unset", UNKNOWN, "any") and shape not in (UNKNOWN, "any") and before != shape:
                    self.report.errors.append(f"{where}: {name} is a {before}-element channel, but the branch makes it {shape}-element")
                if not (in_branch and shape in (UNKNOWN, "any") and before not in ("unset",)):
                    self.vars[name] = shape if not (in_branch and before not in ("unset", UNKNOWN, "any")) else before
                continue
            m = re.match(r"([A-Z][A-Z0-9_]*)\s*\(", st)
            if m and (m.group(1) in self.processes or m.group(1) in self.workflow_takes):
                self._call(m.group(1), st[m.end() - 1:], where)

    def _call(self, name: str, rest: str, where: str):
        j = _close(rest, 0)
        args = _split_top(rest[1:j])
        if name in self.processes:
            expected = input_arities(self.processes[name])
            declared = self.processes[name].inputs
        else:
            expected = self.workflow_takes[name]
            declared = [f"take {k + 1}" for k in range(len(expected))]
        if len(args) != len(expected):
            self.report.errors.append(f"{where}: {name} takes {len(expected)} input channel(s), called with {len(args)}")
            return
        for k, (arg, want) in enumerate(zip(args, expected)):
            got = self.arity(arg, f"{where}: {name} input {k + 1}")
            if got in (UNKNOWN, "any") or want is UNKNOWN:
                self.report.unknown.append(f"{name} input {k + 1}: {arg[:60]}")
                continue
            self.report.checked += 1
            if got != want:
                self.report.errors.append(f"{where}: {name} input {k + 1} gets {got}-element items, {name} declares {want} ({declared[k]})")


def _depth(text: str) -> int:
    depth, i = 0, 0
    while i < len(text):
        c = text[i]
        if c in "\"'":
            i = nf._string_end(text, i)
            continue
        depth += c in "([{"
        depth -= c in ")]}"
        i += 1
    return depth


def functions(text: str) -> dict[str, tuple[list[str], str]]:
    """``{name: (params, return expression)}`` of one-``return`` defs of a script."""
    out = {}
    for m in re.finditer(r"(?m)^def\s+(\w+)\s*\(([^)]*)\)\s*\{", text):
        start = m.end() - 1
        body = text[start + 1:nf.match_brace(text, start)]
        r = re.search(r"(?s)\breturn\s+(.+)$", body.strip())
        if r:
            out[m.group(1)] = ([p.strip() for p in m.group(2).split(",") if p.strip()], r.group(1).strip())
    return out


def take_arities(body: str) -> dict[str, int | None]:
    """``take:`` names with the arity of their ``// channel: [a, b]`` comment (None without one)."""
    m = re.search(r"(?ms)^\s*take:\s*$(.*?)^\s*main:\s*$", body)
    out = {}
    for line in (m.group(1) if m else "").splitlines():
        t = re.match(r"\s*(\w+)\s*(?://\s*channel:\s*(\[.*\]))?", line)
        if t and t.group(1):
            if t.group(2):
                out[t.group(1)] = _literal_list_len(re.sub(r"\(.*?\)", "", t.group(2)))
            else:
                out[t.group(1)] = 1 if re.search(r"//\s*(channel:\s*[^\s\[]|map:)", line) else UNKNOWN
    return out


def emit_vars(body: str) -> dict[str, str]:
    """``{emit: expression}`` of a workflow body's ``emit:`` section."""
    m = re.split(r"(?m)^\s*emit:\s*$", body, maxsplit=1)
    if len(m) < 2:
        return {}
    return dict(re.findall(r"(?m)^\s*(\w+)\s*=\s*(\S.*?)\s*$", m[1]))


def check_workflow(text: str, name: str, processes: dict[str, nf.Process],
                   subworkflows: dict[str, dict[str, int]] | None = None,
                   workflow_takes: dict[str, list[int | None]] | None = None) -> tuple[Report, dict[str, int | None]]:
    """Arity report of workflow ``name`` in the script ``text`` (comments kept for take:), and the
    arity of each of its emits."""
    stripped = nf.strip_comments(text)
    body = nf.blocks(stripped, "workflow")[name]
    takes = take_arities(nf.blocks(text, "workflow")[name])
    main = re.split(r"(?m)^\s*main:\s*$", body, maxsplit=1)[-1]
    main = re.split(r"(?m)^\s*emit:\s*$", main, maxsplit=1)[0]
    wf = Workflow(main, processes, functions(stripped), subworkflows, workflow_takes)
    report = wf.run(takes)
    emits = {e: wf.arity(expr, f"{name} emit {e}") for e, expr in emit_vars(body).items()}
    return report, emits
