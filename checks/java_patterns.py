"""Java regular expressions, as the AWS API models write their ``pattern`` constraints, in Python.

The models' patterns are matched against the whole value (Java's ``matches``: ``fullmatch``
here). Python's ``re`` lacks two constructs they use: Unicode categories (``\\p{L}``) and UTF-16
surrogate pairs for supplementary characters (``\\uD800\\uDC00-\\uDBFF\\uDFFF``); both are
rewritten to code point ranges. Java also accepts a quantifier on the end anchor (SageMaker's
CustomerMetadataKey is ``(…)*${1,128}``), which Python refuses: a repeated anchor is one anchor, so the
quantifier is dropped. Standard library only.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import cache

_SURROGATE_PAIR = re.compile(r"\\u(?P<hi>[dD][89abAB][0-9a-fA-F]{2})\\u(?P<lo>[dD][c-fC-F][0-9a-fA-F]{2})")
_CATEGORY = re.compile(r"\\p\{(?P<cat>[A-Za-z]{1,2})\}")
_ANCHOR_QUANTIFIER = re.compile(r"\{\d+(,\d*)?\}")


def _pair_to_codepoint(match: re.Match[str]) -> str:
    hi, lo = int(match.group("hi"), 16), int(match.group("lo"), 16)
    return f"\\U{0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00):08X}"


@cache
def _category_ranges(category: str) -> str:
    """A character-class body (no brackets) matching every code point of a Unicode category prefix."""
    ranges: list[tuple[int, int]] = []
    for cp in range(sys.maxunicode + 1):
        if unicodedata.category(chr(cp)).startswith(category):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    if not ranges:
        raise ValueError(f"unknown Unicode category \\p{{{category}}}")
    return "".join(f"\\U{a:08X}" if a == b else f"\\U{a:08X}-\\U{b:08X}" for a, b in ranges)


@cache
def compile_java_pattern(pattern: str) -> re.Pattern[str]:
    """The Python equivalent of an API model pattern (matched with ``fullmatch``, as Java's ``matches``)."""
    translated = _SURROGATE_PAIR.sub(_pair_to_codepoint, pattern)
    out, in_class, i = [], False, 0
    while i < len(translated):
        ch = translated[i]
        if ch == "\\":
            match = _CATEGORY.match(translated, i)
            if match:
                body = _category_ranges(match.group("cat"))
                out.append(body if in_class else f"[{body}]")
                i = match.end()
                continue
            out.append(translated[i : i + 2])
            i += 2
            continue
        if ch == "$" and not in_class and (quantifier := _ANCHOR_QUANTIFIER.match(translated, i + 1)):
            out.append(ch)
            i = quantifier.end()
            continue
        if ch == "[" and not in_class:
            in_class = True
        elif ch == "]" and in_class:
            in_class = False
        out.append(ch)
        i += 1
    return re.compile("".join(out), re.DOTALL)
