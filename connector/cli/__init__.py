"""The command line: ``socialarchive`` (the console script is ``connector.cli:main``).

Thin: a command reads its options, calls the library once, prints the result and exits by the one
exit-code table (``connector.exitcodes``); dates and times are read by ``connector.when``. One
module per group of commands:

- ``app``        the ``socialarchive`` group: shared options before the command, usage errors as JSON;
- ``options``    the option bundles commands share (``config_options`` on every command: config,
                 logging, the ``--source`` check, errors -> exit codes; ``--workers``; ranges);
- ``output``     stderr log and messages (text or JSON lines, ``--quiet``), JSON on stdout;
- ``run``        sync, backfill (the commands that file);
- ``survey``     check, plan, status, report, search (the commands that look and tell);
- ``records``    hold, verify, reclassify, export, audit file, subject (records management,
                 through ``connector.compliance.actions``);
- ``ledger``     ledger rebuild;
- ``quarantine`` quarantine list, retry;
- ``docs``       docs cli, docs procedure, docs cmis10-type.

A new command goes into the module of its group (or a new module listed in ``app``); nothing in
``connector`` outside this package imports it. The repository's top-level ``cli.py`` only delegates
here, for ``python cli.py``; it is not installed.
"""
import gc

# The imports below create some 100 modules' functions, classes and dataclass methods, all alive
# until the process ends: the collector's passes over them while they are made find nothing to
# free and cost ~12 ms of every command's start (5 %, `bench/throughput.py` counts spawn to exit).
# So it pauses for them, and ``main`` freezes what they made (``app._freeze_startup_objects``).
# No try/finally: the imports stay at the top (tests/unit/test_cli_package.py), and an import
# that fails leaves no CLI to run anyway.
_collecting = gc.isenabled()
gc.disable()
from .app import main  # noqa: E402  (after the pause, on purpose)

if _collecting:
    gc.enable()

__all__ = ["main"]
