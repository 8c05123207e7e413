"""Where matching falls short: the true pairs the matcher left split, broken down by what varies between the records.

Each record of ``identity_data.generate`` carries the variations it was rendered with (a nickname, "Jane S.", a masked
phone, a move, …). A true pair has the variations of both its records, "moved" when exactly one of them is at the new
address, and what the pair shows as a whole: another phone on each side, or no phone or email in common at all.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from identity_data import VARIATIONS, Record

OTHER_PHONE = "another phone each side"
NO_CONTACT = "no phone or email in common"
PLAIN = "(none of these)"
PAIR_VARIATIONS = (*VARIATIONS, OTHER_PHONE, NO_CONTACT, PLAIN)


def _digits(phone: str) -> str:
    return re.sub(r"\D", "", phone)[-10:]


def pair_variations(a: Record, b: Record) -> frozenset[str]:
    """What varies between two records of one person."""
    out = set((a.variations | b.variations) - {"moved"})
    if ("moved" in a.variations) != ("moved" in b.variations):
        out.add("moved")
    phones_a, phones_b = {_digits(p) for p in a.phones}, {_digits(p) for p in b.phones}
    emails_a, emails_b = {e.lower() for e in a.emails}, {e.lower() for e in b.emails}
    if phones_a and phones_b and not phones_a & phones_b:
        out.add(OTHER_PHONE)
    if not (phones_a & phones_b or emails_a & emails_b):
        out.add(NO_CONTACT)
    return frozenset(out or {PLAIN})


@dataclass
class Misses:
    """Per variation: true pairs with it, those not auto-merged, those neither merged nor reviewed."""

    pairs: Counter[str]
    missed: Counter[str]
    lost: Counter[str]
    sole: Counter[str]  # missed pairs with this as their only variation
    combos: Counter[frozenset[str]]  # variation sets of missed pairs
    total_missed: int


def misses(
    records: Sequence[Record],
    truth: Iterable[frozenset[str]],
    merged: Collection[frozenset[str]],
    reviewed: Collection[frozenset[str]],
) -> Misses:
    """Break the true pairs down by variation: how many were merged, reviewed or lost."""
    by_id = {str(r.record_id): r for r in records}
    out = Misses(Counter(), Counter(), Counter(), Counter(), Counter(), 0)
    for pair in truth:
        a, b = (by_id[x] for x in pair)
        variations = pair_variations(a, b)
        out.pairs.update(variations)
        if pair in merged:
            continue
        out.total_missed += 1
        out.missed.update(variations)
        out.combos[variations] += 1
        if len(variations) == 1:
            out.sole.update(variations)
        if pair not in reviewed:
            out.lost.update(variations)
    return out


def add(total: Misses, more: Misses) -> Misses:
    """Two runs' tables as one (the bench sums seeds of one size)."""
    return Misses(
        total.pairs + more.pairs,
        total.missed + more.missed,
        total.lost + more.lost,
        total.sole + more.sole,
        total.combos + more.combos,
        total.total_missed + more.total_missed,
    )


def report_misses(console: Console, title: str, m: Misses, combos: int = 12) -> None:
    """The miss table by variation, largest share of all misses first, and the most common variation sets missed."""
    table = Table(title=title)
    for column in ("variation", "true pairs", "not merged", "miss rate", "lost", "share of misses", "alone"):
        table.add_column(column, justify="left" if column == "variation" else "right", no_wrap=True)
    for name in sorted(PAIR_VARIATIONS, key=lambda v: -m.missed[v]):
        if not m.pairs[name]:
            continue
        table.add_row(
            name,
            f"{m.pairs[name]:,}",
            f"{m.missed[name]:,}",
            f"{m.missed[name] / m.pairs[name]:.0%}",
            f"{m.lost[name]:,}",
            f"{m.missed[name] / m.total_missed:.0%}" if m.total_missed else "",
            f"{m.sole[name]:,}",
        )
    console.print(table)
    combo_table = Table(title="Most common variation sets among pairs not merged")
    combo_table.add_column("variations", no_wrap=True)
    combo_table.add_column("pairs not merged", justify="right")
    for variations, count in m.combos.most_common(combos):
        combo_table.add_row(" + ".join(sorted(variations)), f"{count:,}")
    console.print(combo_table)
    console.print(
        "not merged: true pairs not in one person after the stream. lost: not merged and not put before a person "
        "either. share of misses: of all true pairs not merged (a pair counts under each of its variations). alone: "
        "not-merged pairs with no other variation. A pair's variations are both records' (bench/identity_data.py "
        f"VARIATIONS), moved when one record is at the new home, '{OTHER_PHONE}' and '{NO_CONTACT}' from the pair."
    )
