"""Sphinx extension: gmlib's docstrings are plain text, so keep them literal in the API pages.

The docstrings write maths and names as a reader types them (`|x|`, `2 * pi`, `means_`,
`log p(x | z)`), which reStructuredText would read as substitutions, emphasis and link
targets. Before napoleon parses the Google sections, this escapes `*`, `|`, `\\` and a
trailing `_` outside code spans (text in backticks, which `default_role: code` shows as
code), and keeps a leading `* ` as a bullet and doctest examples as they are.
"""

from __future__ import annotations

import re
from typing import Any

_CODE = re.compile(r"(``.*?``|`[^`]*`)")


def _escape(text: str) -> str:
    parts = _CODE.split(text)
    for i in range(0, len(parts), 2):  # even parts lie outside code spans
        plain = parts[i].replace("\\", "\\\\").replace("*", r"\*").replace("|", r"\|")
        parts[i] = re.sub(r"(\w)_(?=\W|$)", r"\1\\_", plain)
    return "".join(parts)


def _escape_line(line: str) -> str:
    stripped = line.lstrip()
    if stripped.startswith("* "):  # a bullet keeps its marker
        return line[:len(line) - len(stripped)] + "* " + _escape(stripped[2:])
    return _escape(line)


def _process(app: Any, what: str, name: str, obj: object, options: Any,
             lines: list[str]) -> None:
    in_example = False  # doctest blocks (from `>>>` to a blank line) are literal already
    for i, line in enumerate(lines):
        in_example = line.lstrip().startswith(">>>") or (in_example and line.strip() != "")
        if not in_example:
            lines[i] = _escape_line(line)


def setup(app: Any) -> dict[str, bool]:
    # priority 100: before napoleon (500) turns the Google sections into fields
    app.connect("autodoc-process-docstring", _process, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
