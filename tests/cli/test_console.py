"""cli.console: user text is printed literally and without control characters."""

from __future__ import annotations

import io

from taxgate.cli.console import SafeConsole, plain, printable, show_fields


def test_printable_escapes_controls_and_keeps_the_rest() -> None:
    assert printable("S-1 Zoë") == "S-1 Zoë"
    assert printable("a\x1b[2Jb\u202ec\x00") == "a\\x1b[2Jb\\u202ec\\x00"
    assert printable("a\nb") == "a\\x0ab"
    assert printable("a\nb", keep_newlines=True) == "a\nb"


def test_plain_is_never_markup() -> None:
    out = io.StringIO()
    SafeConsole(file=out, width=100).print(plain("MK-[/] [bold]x[/bold] :smile:"))
    assert out.getvalue() == "MK-[/] [bold]x[/bold] :smile:\n"


def test_show_fields_prints_values_literally(monkeypatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr("taxgate.cli.console.console", SafeConsole(file=out, width=100))
    show_fields(("batch", "[red]x[/red]\x1b[2J"))
    assert out.getvalue() == "batch        [red]x[/red]\\x1b[2J\n"
