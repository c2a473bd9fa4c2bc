"""tests/whole_words.found (the leak checks' one-pass search) answers exactly as one regex per value."""
from __future__ import annotations

import random
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from whole_words import found  # noqa: E402


@pytest.mark.parametrize("word", [r"\w", r"[\w-]"])
def test_found_is_the_regex_per_value(word):
    rng = random.Random(5)
    alphabet = "ab -<>&é_1."
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        values = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 4))) for _ in range(20)]
        values += [text[i:j] for i, j in ((rng.randint(0, 60), rng.randint(0, 60)) for _ in range(10)) if i < j]
        expected = [v for v in dict.fromkeys(values)
                    if re.search(rf"(?<!{word}){re.escape(v)}(?!{word})", text)]
        assert found(values, text, word=word) == expected, (text, values)


def test_a_name_inside_a_longer_word_is_not_found():
    text = "Fen Pasuka, Ana-Maria and &lt;img&gt; P0012"
    assert found(["Fen Pasu", "Ana", "Maria", "&lt;img&gt;", "P001", "P0012"], text) == \
        ["Ana", "Maria", "&lt;img&gt;", "P0012"]
    assert found(["Ana", "Maria"], text, word=r"[\w-]") == []
