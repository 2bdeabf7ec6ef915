"""Shared rich console and progress bar, so every command reports the same way.

Text that comes from outside (batch and subject ids, names, file names, error messages built
from them) is printed through `plain`: as a rich `Text`, never parsed as markup, so `[red]`,
`[/]` or `[link=...]` show literally and cannot crash a command or restyle its output. Both
consoles also escape control and bidirectional-format characters in everything they render
(`\x1b[2J` prints as the text `\x1b[2J`), so no value can move the cursor, clear the screen
or reorder what the reader sees.
"""

from __future__ import annotations

import os
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from rich.console import Console, ConsoleOptions, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.segment import Segment
from rich.text import Text

# Output to a file or pipe (logs, CI) is not limited to a terminal's 80 columns.
PIPED_WIDTH = 120
# Control characters (C0, DEL, C1), format characters (bidi overrides, zero-width joiners)
# line/paragraph separators, and lone surrogates (undecodable bytes of a file name, which the
# terminal encoding would refuse): shown as escapes, never sent to the terminal as they are.
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _escape_char(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with every control or invisible format character written as an escape."""
    if text.isprintable():
        return text
    return "".join(
        char
        if (keep_newlines and char == "\n") or unicodedata.category(char) not in _ESCAPED_CATEGORIES
        else _escape_char(char)
        for char in text
    )


def plain(value: object, style: str = "") -> Text:
    """User-supplied text for printing: literal (no markup, no emoji codes), escaped controls."""
    return Text(printable(str(value)), style=style)


class SafeConsole(Console):
    """A Console whose rendered text never carries raw control characters.

    Markup is the caller's business (use `plain` for user text); this is the safety net for
    control sequences, applied to every segment of text whatever printed it. Rich's own
    styling is added after rendering, so colours still work.
    """

    def render(
        self, renderable: RenderableType, options: ConsoleOptions | None = None
    ) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            text = segment.text
            if segment.control or text.isprintable() or text == "\n":
                yield segment
            else:
                yield Segment(printable(text, keep_newlines=True), segment.style)


console = SafeConsole(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else PIPED_WIDTH)
err_console = SafeConsole(stderr=True)


@contextmanager
def progress_bar() -> Iterator[Progress]:
    """A progress bar on stderr; it stays quiet when stderr is not a terminal."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    ) as progress:
        yield progress


LABEL_WIDTH = 12  # aligns the values of show_fields


def show_fields(*fields: tuple[str, object]) -> None:
    """One "label  value" line each, unwrapped so paths and digests stay copyable."""
    for label, value in fields:
        console.print(plain(f"{label:<{LABEL_WIDTH}} {value}"), highlight=False, soft_wrap=True)
