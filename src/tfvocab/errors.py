"""One exception type for bad input, so the CLI can print one clear line instead of a traceback."""
from __future__ import annotations


class TfvocabError(Exception):
    """Bad input or an impossible request.

    The message names the file, the record (line, gene, chromosome...) and what to do.
    The CLI prints ``Error: <message>`` and exits with status 2.
    """

    def __init__(self, message: str, *, path: str | None = None, record: str | None = None,
                 hint: str | None = None):
        parts = []
        if path is not None:
            parts.append(str(path))
        if record is not None:
            parts.append(str(record))
        where = ": ".join(parts)
        text = f"{where}: {message}" if where else message
        if hint:
            text = f"{text} ({hint})"
        super().__init__(text)
        self.path = path
        self.record = record
        self.hint = hint
