"""The starter fieldrelay.yaml ``fieldrelay init`` writes: the packaged file's sections, the user's shop, no demo."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from fieldrelay.rules.config import DAYS, parse_window
from fieldrelay.rules.library import PACKAGED_YAML, packaged_section

WEEKDAYS = "mon-fri 08:00-17:00"
# The packaged file's sections a new shop is most likely to change, copied with their comments so they stay in step
# with the packaged defaults. The rest (field mapping, pipeline, sequences …) keep their defaults unless written.
_COPIED = ("connectors", "review_request", "text_hours", "identity", "messaging", "followup", "referrals")
_KEY = re.compile(r"^([a-z_]+):")
_PART = re.compile(r"^(?P<days>[a-z]{3}(?:\s*-\s*[a-z]{3})?)\s+(?P<window>closed|\S+)$")

_HEADER = """\
# fieldrelay configuration for {name}, written by `fieldrelay init`. Check it with `fieldrelay check`.
# Secrets (webhook secrets, the API token, provider keys) come from environment variables only, never from this file;
# `fieldrelay check` lists which are set. A section not written here keeps its packaged default: fieldrelay's
# docs/configuration.md lists every setting.
account_id: default
business:
  name: {quoted}
  time_zone: {zone}
  # Day: "HH:MM-HH:MM" in shop time, or null when closed.
  business_hours:
{hours}
  # Days the shop is closed whatever the weekday (the lead-handoff clocks skip them), e.g. ["2026-12-25"].
  holidays: []
"""

_TRAILER = """\
# Follow-up sequences and their message templates: the packaged library runs (`fieldrelay sequences list`,
# `fieldrelay templates list`). To change one template's words, name only that one; the others keep theirs:
# templates:
#   review_nudge:
#     channel: sms
#     body: >-
#       Hi {{ first_name or 'there' }}, a quick review would mean a lot to {{ business_name }}: {{ review_url }}
#
# The lead-handoff SOP (docs/follow-up.md: Lead handoff): the team, who owns each pipeline stage, and the clocks.
# Uncomment and fill in; without a team, stages are owned by roles and overdue tasks escalate to the operations role.
# team:
#   - {name: Dana, role: operations, email: dana@example.com}
#   - {name: Casey, role: office, reports_to: Dana}
# sop:
#   service_zips: ["78701", "78702", "78703"]
#   first_response_minutes: 5
"""


def parse_hours(spec: str) -> dict[str, str | None]:
    """``mon-fri 08:00-17:00; sat 09:00-12:00`` (or one window for Monday to Friday) as day → window or None.

    Days left out are closed; ValueError names the part that cannot be read.
    """
    spec = spec.strip().lower()
    if not re.search(r"[a-z]", spec):  # a window alone: Monday to Friday
        spec = f"mon-fri {spec}"
    hours: dict[str, str | None] = dict.fromkeys(DAYS)
    for part in filter(None, (p.strip() for p in re.split(r"[;,]", spec))):
        match = _PART.match(part)
        if match is None:
            raise ValueError(f"cannot read {part!r}: write it like 'mon-fri 08:00-17:00; sat 09:00-12:00'")
        first, _, last = (d.strip() for d in match["days"].partition("-"))
        if first not in DAYS or (last or first) not in DAYS:
            raise ValueError(f"{match['days']!r} is not a day or a range of days (mon, tue … sun)")
        window = None if match["window"] == "closed" else match["window"]
        if window is not None:
            parse_window(window)
        for day in DAYS[DAYS.index(first) : DAYS.index(last or first) + 1]:
            hours[day] = window
    return hours


def describe_hours(hours: Mapping[str, str | None]) -> str:
    """Open days and windows in a few words: ``mon-fri 08:00-17:00, sat 09:00-12:00``."""
    runs: list[tuple[str, str, str]] = []
    for day in DAYS:
        window = hours.get(day)
        if window is None:
            continue
        if runs and runs[-1][2] == window and DAYS.index(runs[-1][1]) == DAYS.index(day) - 1:
            runs[-1] = (runs[-1][0], day, window)
        else:
            runs.append((day, day, window))
    return ", ".join(f"{a}-{b} {w}" if a != b else f"{a} {w}" for a, b, w in runs) or "closed every day"


def starter_yaml(name: str, time_zone: str, hours: dict[str, str | None]) -> str:
    """The text of a starter fieldrelay.yaml for the shop (checked by the caller with ``parse_settings``)."""
    name = " ".join(name.split())
    quoted = json.dumps(name, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar
    lines = "\n".join(f"    {day}: {json.dumps(hours.get(day))}" for day in DAYS)
    header = _HEADER.format(name=name, quoted=quoted, zone=json.dumps(time_zone), hours=lines)
    sections = _sections(PACKAGED_YAML.read_text(encoding="utf-8"))
    demo_name = packaged_section("business")["name"]
    copied = []
    for key in _COPIED:
        text = sections[key].replace(demo_name, quoted)
        if key == "referrals":  # a referral program pays out money: a shop turns it on itself
            text = _replaced(text, "\n  enabled: true", "\n  enabled: false   # true: run the referral program")
        copied.append(text)
    return header + "".join(copied) + _TRAILER


def _sections(text: str) -> dict[str, str]:
    """Each top-level key of a YAML file with the comment lines just above it, in file order."""
    lines = text.splitlines(keepends=True)
    starts: list[tuple[str, int]] = []
    for index, line in enumerate(lines):
        match = _KEY.match(line)
        if match is None:
            continue
        begin = index
        while begin > 0 and lines[begin - 1].startswith("#"):
            begin -= 1
        starts.append((match[1], begin))
    ends = [begin for _, begin in starts[1:]] + [len(lines)]
    return {key: "".join(lines[begin:end]) for (key, begin), end in zip(starts, ends, strict=True)}


def _replaced(text: str, old: str, new: str) -> str:
    # The packaged file is the source; if it no longer says what this expects, fail loudly rather than write a
    # starter that quietly keeps the demo's setting.
    if old not in text:
        raise AssertionError(f"the packaged default.yaml no longer contains {old!r}")
    return text.replace(old, new, 1)
