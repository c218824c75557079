"""Counts text in the wrong language on a rendered HTML page.

A run is four or more English words in a row (for a zh page), or a stretch of Chinese (for an
en page). Raw tool output and identifiers are allowed in either language, so text inside
``<pre>``, ``<code>``, ``<style>``, ``<script>``, ``<title>`` and elements of class ``mono`` is
not counted; in an en page, text inside an element marked ``lang="zh"`` (the school's and
people's names, official titles quoted in Chinese) is not counted either.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'’-]*(?:[\s,;:()/]+[A-Za-z][A-Za-z'’-]*){3,}")
CHINESE_RUN = re.compile(r"[\u3400-\u9fff][\u3400-\u9fff\u3000-\u303f\uff00-\uffef0-9\s]*")
_RAW = {"pre", "code", "style", "script", "title"}
_VOID = {"br", "meta", "link", "img", "input", "hr", "wbr", "col", "area", "base", "source"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, bool, bool]] = []  # tag, raw, lang=zh
        self.chunks: list[tuple[str, bool]] = []  # text, inside lang=zh

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            return
        a = dict(attrs)
        raw = tag in _RAW or "mono" in (a.get("class") or "").split()
        zh = (a.get("lang") or "").startswith("zh")
        self.stack.append((tag, raw, zh))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if any(raw for _t, raw, _z in self.stack):
            return
        self.chunks.append((data, any(z for _t, _r, z in self.stack[1:])))


def wrong_language_runs(page: str, lang: str) -> list[str]:
    """The runs of text on ``page`` that are not in ``lang`` (``zh`` or ``en``)."""
    parser = _Text()
    parser.feed(page)
    runs: list[str] = []
    for text, quoted in parser.chunks:
        if lang == "zh":
            runs += [m.group(0) for m in ENGLISH_RUN.finditer(text)]
        elif not quoted:
            runs += [m.group(0).strip() for m in CHINESE_RUN.finditer(text)]
    return runs
