"""Finding text as HTML: ```code``` spans become ``<code>``, everything else stays text.

Check messages quote headers and commands in backticks (Markdown style); shown raw, the
backticks are noise. The text is escaped *first* and only then are backtick pairs turned
into ``<code>`` elements, so nothing in a message (which may echo a hostile response or a
user's option) can inject markup.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

#: a pair of backticks around text without a backtick or a line break
_CODE = re.compile(r"`([^`\n]+)`")


def code_spans(text: object) -> Markup:
    """Escaped ``text`` with each ```…``` pair as ``<code>…</code>``."""
    escaped = str(escape("" if text is None else str(text)))
    return Markup(_CODE.sub(r"<code>\1</code>", escaped))
