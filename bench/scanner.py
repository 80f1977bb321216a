#!/usr/bin/env python3
"""Sensitive-data scanner: seconds for 5 MiB of digit-dense text, OURS vs RAW, no server needed.

The scanner runs on the filing path (every textual version, its first 5 MB), so its cost is a
property of the archive's throughput; digit-dense text is its worst case: every line holds runs of
digits that may be a phone number, an IBAN or a card number.

Texts (seeded, the same every run):
  log lines   an export of payments: date, time, order number, SHA-256 digest, a card number
              (one in four Luhn-valid), an IBAN (one in eight valid), a phone number, an amount
  card wall   nothing but card numbers, every one valid: the most candidates to check per byte

OURS   ``Scanner().scan_text`` with every built-in detector (e-mail, phone, IBAN, card): regions
       around digit runs, checksums, an IBAN's or a card's digits blanked before the phone search.
RAW    plain ``re.finditer`` of the same four patterns over the whole text, counting matches:
       what any regex scan costs, without a check or a region.

    PYTHONPATH=. python bench/scanner.py [--mib 5] [--rounds 3]
"""
from __future__ import annotations

import argparse
import hashlib
import random
import re
import time
from typing import Callable

from common import machine, median, table

from connector.compliance.sensitive import Scanner, luhn_valid

RAW_PATTERNS = [
    re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
               r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![\w-])"),
    re.compile(r"(?<![\w+/.-])(?:(?:\+|00)[1-9]\d{0,2}[ ./-]?(?:\(0\)[ ]?)?|\(?0\d{1,5}\)?[ ./-]?)"
               r"\d[\d ./-]{4,16}\d(?![\w-])"),
    re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{1,4}){2,8}(?![A-Za-z0-9])"),
    re.compile(r"\d(?:[ -]?\d){12,}"),
]


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _card(rng: random.Random, valid: bool) -> str:
    """A 16-digit Visa-shaped number, Luhn-valid or not, in groups of four."""
    number = "4" + _digits(rng, 14)
    check = next(d for d in "0123456789" if luhn_valid(number + d))
    number += check if valid else str((int(check) + 1) % 10)
    return " ".join(number[i:i + 4] for i in range(0, 16, 4))


def _iban(rng: random.Random, valid: bool) -> str:
    """A German IBAN in groups of four, with right or wrong check digits."""
    bban = _digits(rng, 18)
    check = 98 - int(bban + "131400") % 97          # D=13, E=14, check digits 00
    iban = f"DE{check if valid else (check % 97) + 1:02d}{bban}"
    return " ".join(iban[i:i + 4] for i in range(0, 22, 4))


def log_lines(size: int) -> str:
    rng, lines, total, n = random.Random(16), [], 0, 0
    while total < size:
        line = (f"2024-{1 + n % 12:02d}-{1 + n % 28:02d} {n % 24:02d}:{n % 60:02d}:{n * 7 % 60:02d} "
                f"order {_digits(rng, 8)} sha256 {hashlib.sha256(str(n).encode()).hexdigest()} "
                f"card {_card(rng, n % 4 == 0)} iban {_iban(rng, n % 8 == 0)} "
                f"tel +49 30 {_digits(rng, 7)} amount {rng.randint(1, 99999)},{_digits(rng, 2)} EUR\n")
        lines.append(line)
        total, n = total + len(line), n + 1
    return "".join(lines)[:size]


def card_wall(size: int) -> str:
    rng = random.Random(17)
    lines = [_card(rng, True) + "\n" for _ in range(4096)]   # 4096 distinct numbers, repeated
    return ("".join(lines) * (size // (20 * 4096) + 1))[:size]


def raw(text: str) -> int:
    return sum(1 for pattern in RAW_PATTERNS for _ in pattern.finditer(text))


def timed(work: Callable[[], object], rounds: int) -> tuple[float, float, object]:
    """Median wall and CPU seconds of ``rounds`` calls, and the last result."""
    walls, cpus, result = [], [], None
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return median(walls), median(cpus), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=float, default=5.0, help="text size in MiB (default 5, the scanner's limit)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    size = int(args.mib * 2 ** 20)
    scanner, rows = Scanner(), []
    for name, make in (("log lines", log_lines), ("card wall", card_wall)):
        text = make(size)
        ours_wall, ours_cpu, found = timed(lambda: scanner.scan_text(text), args.rounds)
        raw_wall, raw_cpu, matches = timed(lambda: raw(text), args.rounds)
        rows.append((name, f"{len(text) / 2 ** 20:g} MiB", f"{ours_wall:.2f} s ({ours_cpu:.2f} CPU)",
                     f"{raw_wall:.2f} s ({raw_cpu:.2f} CPU)", f"{ours_wall / raw_wall:.2f} x",
                     ", ".join(found) or "-", matches))
    print(f"sensitive-data scanner, median of {args.rounds} rounds; {machine()}")
    print(table(rows, ("text", "size", "OURS", "RAW", "OURS/RAW", "OURS found", "RAW matches")))


if __name__ == "__main__":
    main()
