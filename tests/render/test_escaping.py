"""Hostile text stays text, for any text: what GitHub's Markdown makes of the renderer's
escaping (CommonMark with tables, as the other renderer tests parse it), checked with
hypothesis-drawn strings rather than a list of known tricks."""

from __future__ import annotations

import html
import re
import unicodedata

from hypothesis import example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from stackflow.render.markdown import html_text, md_code, md_text

MD = MarkdownIt("commonmark").enable("table")

INVISIBLE = ("Cc", "Cf", "Zl", "Zp", "Co", "Cs")
"""Control, format (bidi, zero-width), line and paragraph separators, private use."""

# Markdown's own characters, drawn often, among any others.
MARKUP = st.sampled_from([*"\\`*_{}[]()#+-.!|~<>&\"':=$^@ \n\t", "\u202e", "\u200b", "\x00"])
TEXT = st.text(st.one_of(MARKUP, st.characters()), max_size=60)


def shown(text: str) -> str:
    """What a reader must see of ``text``: each invisible character as its ``\\uXXXX``
    escape, a line break or tab as a space."""
    out = []
    for ch in text:
        if ch in "\n\t":
            out.append(" ")
        elif unicodedata.category(ch) in INVISIBLE:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def inline(rendered: str) -> str:
    """The one paragraph markdown-it made, as its inline HTML."""
    match = re.fullmatch(r"<p>(.*)</p>\n", rendered, re.S)
    assert match is not None, rendered
    return match.group(1)


@settings(max_examples=300)
@given(TEXT.filter(lambda t: t.strip() == t and t))
@example("<b>x</b> *y* _z_ [l](javascript:x) `c` # h | t | ~~s~~ &amp; \\*")
@example("1. one\n- two\n> three\n\tfour")
@example("@octocat and @team/ops, not a@")
@example("\u202egnp.exe\u200b\x00\u2028")
def test_free_text_is_shown_as_it_is_and_is_never_markup(text: str) -> None:
    """No emphasis, link, code, HTML, heading or list, whatever the text; every character
    shown, invisible ones as escapes; an ``@name`` mentions nobody."""
    escaped = md_text(text)
    assert "\n" not in escaped
    body = inline(MD.render("x " + escaped))[2:]
    assert "<" not in body.replace("&lt;", ""), body  # no element: text only
    seen = html.unescape(body)
    assert seen.replace("@\u2060", "@") == shown(text)
    assert not re.search(r"@[A-Za-z0-9]", seen)  # a GitHub login starts so


def assert_code_shows(code: str, text: str) -> None:
    """A code span shows its text exactly; one of spaces only shows as spaces."""
    expected = shown(text)
    if expected.strip(" "):
        assert code == expected
    else:
        assert code.strip(" ") == ""


IDENTIFIERS = ["", "`", "a``b", "` x `", " 0 ", " ", "\n", "a|b", "<b>", "\u202ex", "`x", "x`"]


@settings(max_examples=300)
@given(TEXT)
@example(IDENTIFIERS[0])
@example(IDENTIFIERS[1])
@example(IDENTIFIERS[2])
@example(IDENTIFIERS[3])
@example(IDENTIFIERS[4])
@example(IDENTIFIERS[5])
@example(IDENTIFIERS[6])
@example(IDENTIFIERS[7])
@example(IDENTIFIERS[8])
@example(IDENTIFIERS[9])
@example(IDENTIFIERS[10])
@example(IDENTIFIERS[11])
def test_an_identifier_is_one_code_span_of_exactly_its_text(text: str) -> None:
    rendered = inline(MD.render("x " + md_code(text)))
    match = re.fullmatch(r"x <code>(.*)</code>", rendered, re.S)
    assert match is not None, rendered
    assert_code_shows(html.unescape(match.group(1)), text)


@settings(max_examples=300)
@given(TEXT)
@example(IDENTIFIERS[0])
@example(IDENTIFIERS[1])
@example(IDENTIFIERS[2])
@example(IDENTIFIERS[3])
@example(IDENTIFIERS[4])
@example(IDENTIFIERS[5])
@example(IDENTIFIERS[6])
@example(IDENTIFIERS[7])
@example(IDENTIFIERS[8])
@example(IDENTIFIERS[9])
@example(IDENTIFIERS[10])
@example(IDENTIFIERS[11])
def test_an_identifier_in_a_table_cell_stays_in_its_cell(text: str) -> None:
    row = f"| {md_code(text, in_table=True)} | next |\n"
    rendered = MD.render("| a | b |\n| - | - |\n" + row)
    cells = re.findall(r"<td>(.*?)</td>", rendered, re.S)
    assert len(cells) == 2, rendered
    assert cells[1] == "next"
    match = re.fullmatch(r"<code>(.*)</code>", cells[0], re.S)
    assert match is not None, cells[0]
    assert_code_shows(html.unescape(match.group(1)), text)


@settings(max_examples=200)
@given(TEXT)
@example("\"quoted\" & 'single' <b>bold</b> @octocat")
def test_text_in_an_html_block_is_escaped_for_any_html_context(text: str) -> None:
    """Inside ``<summary>`` Markdown is not parsed: every character HTML gives a meaning
    (``< > & " '``) is an entity, so the text is safe in an attribute too, and reads back
    as itself."""
    escaped = html_text(text)
    assert not re.search(r"[<>\"']|&(?!(amp|lt|gt|quot|#x27);)", escaped)
    assert html.unescape(escaped).replace("@\u2060", "@") == shown(text)
