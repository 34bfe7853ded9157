"""Plain text for the command line's help from reStructuredText docstrings.

The modules' docstrings are reStructuredText (double backquotes around code, roles such as
:func:`name`); argparse prints a description as it is, so each command's help would show that
markup. ``plain`` drops it, and ``plain_help`` applies it to every parser of the command line.
"""

from __future__ import annotations

import argparse
import re

_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`~?([^`<]*?)(?:\s*<[^>]*>)?`")
_LITERAL = re.compile(r"``(.+?)``", re.S)
_INTERPRETED = re.compile(r"(?<![`\w])`([^`\n]+)`(?![`\w])")


def plain(text: str | None) -> str | None:
    """``text`` without reST markup: roles (:func:`~designs.x.f` gives f; :ref:`title <target>`
    gives title), inline literals and interpreted text keep their words, without the backquotes."""
    if text is None:
        return None

    def role(match: re.Match) -> str:
        target = match.group(1).strip()
        return target.rsplit(".", 1)[-1] if match.group(0).split("`", 1)[1].startswith("~") else target

    text = _ROLE.sub(role, text)
    text = _LITERAL.sub(r"\1", text)
    return _INTERPRETED.sub(r"\1", text)


class ParagraphFormatter(argparse.HelpFormatter):
    """argparse's formatter, but a description keeps its paragraphs (each is refilled on its own)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
        return "\n\n".join(super(ParagraphFormatter, self)._fill_text(p, width, indent) for p in paragraphs)


def plain_help(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Make the description, epilog and every argument's help of ``parser`` and of its subcommands
    (recursively) plain text; returns ``parser``."""
    parser.formatter_class = ParagraphFormatter
    parser.description = plain(parser.description)
    parser.epilog = plain(parser.epilog)
    for action in parser._actions:
        if isinstance(action.help, str):
            action.help = plain(action.help)
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                choice.help = plain(choice.help)
            for sub in dict.fromkeys(action.choices.values()):
                plain_help(sub)
    return parser
