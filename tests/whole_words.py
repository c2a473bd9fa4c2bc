"""Which of many values (names, ids) occur as a whole in a long text, in one pass over the text.

The leak checks look for thousands of names in megabytes of what a browser received. One regular expression
per name, `(?<!\\w)NAME(?!\\w)`, reads the whole text once per name (minutes per check); `found` gives the same
answer by reading the text once:

    >>> found(["Fen Pasu", "Ana", "Bo", "<b>x"], "Fen Pasuka and Ana, <b>x")
    ['Ana', '<b>x']
    >>> found(["P-1"], "P-12 P-1", word=r"[\\w-]")
    ['P-1']

Why it is the same: a value that begins with a word character can only match where a run of word characters
begins (nothing word-like before it), and there the text's run is exactly the value's first run (the value's
next character, or the end the lookahead demands, stops both). So each run of the text is looked up among the
values that begin with it, and each candidate is checked with the regex's own conditions. A value that does
not begin with a word character (or is empty) is searched with the regex itself.
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

__all__ = ["found"]


def found(values: Iterable[str], text: str, *, word: str = r"\w") -> list[str]:
    """The values (in their order, each once) found in `text` as `(?<!W)value(?!W)`, W the character class
    `word` (default `\\w`: not inside a longer word)."""
    values = list(dict.fromkeys(values))
    run, one = re.compile(f"{word}+"), re.compile(word)
    by_head: dict[str, list[str]] = defaultdict(list)
    hits: set[str] = set()
    for v in values:
        head = run.match(v)
        if head:
            by_head[head.group()].append(v)
        elif re.search(rf"(?<!{word}){re.escape(v)}(?!{word})", text):
            hits.add(v)
    for m in run.finditer(text):
        for v in by_head.get(m.group(), ()):
            end = m.start() + len(v)
            if v not in hits and text.startswith(v, m.start()) and not one.match(text, end):
                hits.add(v)
    return [v for v in values if v in hits]
