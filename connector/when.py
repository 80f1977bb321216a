"""Dates and times on the command line: one parser for every ``--since``/``--until``, one format out.

Every option that takes a point in time (``search``, ``hold add``, ``export``, ``plan``,
``backfill``, ``report``) has ``type=WHEN`` and reads the same forms; what ``status`` prints
(``iso``) is one of them, so a time copied from ``status`` can be pasted into any of them::

    parse_when("2024-01-31")                 -> 2024-01-31 00:00:00+00:00
    parse_when("2024-01-31T10:00")           -> 2024-01-31 10:00:00+00:00   (no zone: UTC)
    parse_when("2024-01-31 10:00:00")        -> 2024-01-31 10:00:00+00:00
    parse_when("2024-01-31T10:00:00Z")       -> 2024-01-31 10:00:00+00:00
    parse_when("2024-01-31T10:00:00+02:00")  -> 2024-01-31 08:00:00+00:00
    iso(parse_when("2024-01-31T10:00+02:00")) == "2024-01-31T08:00:00Z"

A value without a zone is UTC, not the machine's local time: the archive's records, the ledger
and the sources' APIs are all in UTC, and a cron job's result must not depend on the host's TZ.
Anything else (``yesterday``, ``31.01.2024``, a week date, a zone on a bare date) is refused with
the forms that are accepted, not guessed at.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

import click

FORMS = "YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], UTC unless it ends in Z or an offset such as +02:00"
_FORM = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?",
                   re.IGNORECASE | re.ASCII)


def parse_when(text: str) -> datetime:
    """One of the forms above (surrounding blanks ignored) -> an aware UTC datetime; else ValueError."""
    value = text.strip()
    if not _FORM.fullmatch(value):
        raise ValueError(f"{text!r} is not a date or time: give {FORMS}")
    if value[-1] in "Zz":
        value = value[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:          # the form is right, the values are not: 2024-02-30, 25:00
        raise ValueError(f"{text!r} is not a valid date or time: {exc}") from None
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def iso(when: datetime | None) -> str | None:
    """ISO 8601 in UTC with ``Z``, whole seconds: how the CLI prints a time (naive means UTC)."""
    if when is None:
        return None
    aware = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when
    return aware.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def pasteable(value: Any) -> Any:
    """A time stored as text (ledger stamps, source checkpoints) as ``iso`` prints it; anything that
    is not a time (a source's opaque checkpoint, None) stays as it is."""
    try:
        return iso(parse_when(value)) if isinstance(value, str) else value
    except ValueError:
        return value


class When(click.ParamType):
    """The click type of every date/time option: ``parse_when``, with its message as the usage error."""

    name = "DATE"

    def convert(self, value, param, ctx) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_when(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


WHEN = When()


def option(*decls: str, help: str, **attrs):
    """A date/time option whose help says how a value is read (``help`` says what it selects)."""
    return click.option(*decls, type=WHEN, help=f"{help} DATE: {FORMS}.", **attrs)
