"""Equipment installed and warranty end dates, read from a job's line items by shop-editable rules."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import MAXYEAR, date
from functools import lru_cache

from fieldrelay.domain.enrichment.provenance import rule_source


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class EquipmentRule:
    """A line item matching ``match`` means ``equipment`` was installed, under warranty for ``warranty_years``.

    ``match`` is a regular expression searched case-insensitively anywhere in the line item; a plain keyword
    ("furnace") is a regular expression that matches itself. ``warranty_years`` 0: equipment without a warranty.
    """

    name: str
    match: str
    equipment: str
    warranty_years: int

    def __post_init__(self) -> None:
        if not self.name.strip() or not self.equipment.strip():
            raise ValueError("an equipment rule needs a name and an equipment")
        if self.warranty_years < 0:
            raise ValueError(f"rule {self.name!r}: warranty_years must be 0 or more, not {self.warranty_years}")
        try:
            _compiled(self.match)
        except re.error as error:
            raise ValueError(f"rule {self.name!r}: match is not a valid regular expression: {error}") from error

    def matches(self, line_item: str) -> bool:
        """True when the line item says this equipment was installed."""
        return _compiled(self.match).search(line_item) is not None


@dataclass(frozen=True)
class Equipment:
    """A piece of equipment a job installed, from one line item."""

    equipment: str
    installed_on: date
    warranty_ends_on: date | None  # None when the rule gives no warranty
    rule: str  # the rule's name; the provenance is ``rule_source(rule)``
    line_item: str

    @property
    def source(self) -> str:
        """``"rule:<name>"``, for storing with the value."""
        return rule_source(self.rule)


# Words that make a line item about work on equipment rather than installing it ("furnace igniter replacement",
# "water heater flush"): such an item never starts a warranty.
_NOT_AN_INSTALL = (
    r"repair\w*|tune[\s-]?ups?|clean\w*|inspect\w*|maintenance|diagnos\w*|service\s+call|flush\w*|filters?"
    r"|ignit[eo]rs?|sensors?|capacitors?|contactors?|motors?|blowers?|belts?|thermostats?|thermocouples?"
    r"|humidifiers?|elements?|anodes?|coils?|relays?|(?:circuit|control)\s+boards?|pressure\s+switch\w*|valves?"
    r"|float\s+switch\w*|flue|pilot|expansion\s+tanks?|drain\s+pans?|straps?"
)
_INSTALL_WORDS = r"install\w*|replac\w*|change[\s-]?outs?|upgrad\w*|swap\w*"


def _install_of(equipment: str, also_not: str = "") -> str:
    """A rule pattern: the equipment is named, with an install word or "new <equipment>", and no repair word."""
    exclusions = _NOT_AN_INSTALL + (f"|{also_not}" if also_not else "")
    return (
        rf"^(?!.*\b(?:{exclusions})\b)(?=.*\b(?:{equipment})\b)"
        rf"(?=.*\b(?:{_INSTALL_WORDS})|.*\bnew\s+(?:[\w%/-]+\s+){{0,3}}?(?:{equipment})\b)"
    )


# Shop-editable defaults, not manufacturer facts: typical US parts-warranty terms for registered residential
# equipment (labour warranties are usually shorter). A shop sets its own in fieldrelay.yaml. Order matters: the
# first matching rule claims a line item, so tankless comes before the tank water heater, and a water heater
# (including a heat-pump water heater) before the heat pump.
DEFAULT_EQUIPMENT_RULES: tuple[EquipmentRule, ...] = (
    EquipmentRule("tankless_water_heater_install", _install_of(r"tankless|on[\s-]?demand\s+water\s+heaters?"),
                  "tankless water heater", 12),
    EquipmentRule("water_heater_install", _install_of(r"(?:hot\s+)?water\s+heaters?|hot\s+water\s+tanks?"),
                  "water heater", 6),
    EquipmentRule("heat_pump_install", _install_of(r"heat\s+pumps?|mini[\s-]?splits?|ductless"), "heat pump", 10),
    EquipmentRule("furnace_install", _install_of(r"furnaces?"), "furnace", 10),
    EquipmentRule("ac_install",
                  _install_of(r"a/?c|air\s+condition\w*|condensers?|condensing\s+units?|central\s+air"),
                  "air conditioner", 10),
    EquipmentRule("boiler_install", _install_of(r"boilers?"), "boiler", 10),
    EquipmentRule("sump_pump_install", _install_of(r"sump\s+pumps?"), "sump pump", 3),
    # "panel" is also a solar panel, or a breaker swapped inside the panel: neither is a panel upgrade. A
    # "200 amp service upgrade" is one.
    EquipmentRule("panel_upgrade",
                  _install_of(r"panels?|[0-9]+\s*amps?\s+service",
                              also_not=r"solar|breakers?(?!\s+(?:panel|box))"),
                  "electrical panel", 10),
    EquipmentRule("roof_replacement",
                  r"^(?!.*\b(?:repair\w*|inspect\w*|vents?|flashing|gutters?|skylights?|leaks?)\b)"
                  r"(?=.*\b(?:re-?roof\w*|new\s+roof\w*|roof\w*\b.*\b(?:" + _INSTALL_WORDS + r"|tear[\s-]?off)"
                  r"|(?:" + _INSTALL_WORDS + r")\b.*\broof\w*)\b)",
                  "roof", 25),
)  # fmt: skip


def _add_years(start: date, years: int) -> date:
    if start.year + years > MAXYEAR:
        return date.max
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February into a year that has none
        return start.replace(year=start.year + years, day=28)


def equipment_from_line_items(
    items: Sequence[str],
    installed_on: date,
    rules: Sequence[EquipmentRule] = DEFAULT_EQUIPMENT_RULES,
) -> list[Equipment]:
    """Equipment the job installed: for each line item, the first rule that matches it.

    One piece of equipment per kind and job: "Furnace install" and "Furnace install - labour" are one furnace. A
    line item naming two installs ("furnace and AC install") counts as the first rule's only; shops that bill
    systems that way add a rule for the pair.
    """
    found: list[Equipment] = []
    seen: set[str] = set()
    for item in items:
        if not item or not item.strip():
            continue
        rule = next((rule for rule in rules if rule.matches(item)), None)
        if rule is None or rule.equipment in seen:
            continue
        seen.add(rule.equipment)
        ends = _add_years(installed_on, rule.warranty_years) if rule.warranty_years else None
        found.append(Equipment(rule.equipment, installed_on, ends, rule.name, item.strip()))
    return found
