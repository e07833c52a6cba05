"""Number each lecture's figures with the lecture's own number: Fig. 11.1, 11.2, ...

The book turns Sphinx's chapter numbering off (it would count the lectures 1..18 in reading
order, while files, prose and exercise ids number them 00..17), and every lecture's title
carries its number ('# 11. Diffusion models and flow matching'). Without chapter numbers
Sphinx's numfig counts figures continuously through the whole book (Fig. 143); this extension
restarts the count in every lecture and prefixes the lecture's number, so a figure caption
agrees with the page it is on. Pages outside lectures/ keep plain per-page counts.
"""

from __future__ import annotations

import re
from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

RENUMBERED = ("figure", "table", "code-block")
LECTURE_DOC = re.compile(r"^lectures/(\d\d)_")


def lecture_prefix(docname: str) -> tuple[str, ...]:
    """('11',) for 'lectures/11_diffusion'; () for any other page."""
    match = LECTURE_DOC.match(docname)
    return (match.group(1),) if match else ()


def renumber(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Runs after Sphinx's own figure numbering (priority 900 > its 500) and replaces it."""
    changed = []
    for docname, by_type in env.toc_fignumbers.items():
        prefix = lecture_prefix(docname)
        for figtype, numbers in by_type.items():
            if figtype not in RENUMBERED:
                continue
            # Sphinx numbered them in document order, so its order is the page's order.
            in_order = sorted(numbers, key=lambda figure_id: numbers[figure_id])
            renumbered = {fid: (*prefix, k) for k, fid in enumerate(in_order, start=1)}
            if renumbered != numbers:
                by_type[figtype] = renumbered
                changed.append(docname)
    return sorted(set(changed))


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("env-get-updated", renumber, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
