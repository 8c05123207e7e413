"""Enrichment: ZIP facts, address standardisation, phone facts, lead sources, equipment rules, the merge rule."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldrelay.domain.enrichment.fill import (
    DEFAULT_EQUIPMENT_RULES,
    FALLBACK,
    LEAD_SOURCE_RULE,
    LEAD_SOURCES,
    PERSON,
    PHONENUMBERS,
    SCOURGIFY,
    ZIP_SOURCE,
    Equipment,
    EquipmentRule,
    Sourced,
    StandardAddress,
    ZipFacts,
    address_key,
    equipment_from_line_items,
    fill_missing,
    normalize_lead_source,
    phone_facts,
    rule_source,
    source_rank,
    split_one_line,
    standardize_address,
    vendor_source,
    zip5,
    zip_facts,
)
from fieldrelay.domain.events import Address

# --- ZIP facts ----------------------------------------------------------------------------------------------------

FULL_WIDTH = "\uff17\uff18\uff17\uff10\uff11"  # "78701" in full-width digits: str.isdigit says yes, it is no ZIP


@pytest.mark.parametrize(
    ("code", "city", "state", "time_zone"),
    [
        ("78701", "Austin", "TX", "America/Chicago"),
        ("10001", "New York", "NY", "America/New_York"),
        ("99501", "Anchorage", "AK", "America/Anchorage"),
        ("96813", "Honolulu", "HI", "Pacific/Honolulu"),
        ("00601", "Adjuntas", "PR", "America/Puerto_Rico"),
    ],
)
def test_zip_facts_of_real_zips(code: str, city: str, state: str, time_zone: str) -> None:
    facts = zip_facts(code)
    assert facts is not None
    assert (facts.zip5, facts.city, facts.state, facts.time_zone) == (code, city, state, time_zone)
    assert facts.active is True


def test_zip_facts_carry_county_and_type() -> None:
    assert zip_facts("78701") == ZipFacts(
        zip5="78701",
        city="Austin",
        state="TX",
        time_zone="America/Chicago",
        county="Travis County",
        zip_type="STANDARD",
        active=True,
    )


@pytest.mark.parametrize("code", ["78701-1234", "787011234", "78701 1234", " 78701 ", "78701-1234\n"])
def test_zip_plus_four_and_spacing_read_as_the_five_digit_zip(code: str) -> None:
    facts = zip_facts(code)
    assert facts is not None
    assert (facts.zip5, facts.city) == ("78701", "Austin")


@pytest.mark.parametrize(
    "code",
    [None, "", "   ", "00000", "99999", "abc", "7870", "787012", "78701-", "78701-12", "78701-12345", "TX", FULL_WIDTH],
)
def test_unknown_or_malformed_zips_give_nothing(code: str | None) -> None:
    assert zip_facts(code) is None


def test_zip5() -> None:
    assert zip5("78701-1234") == "78701"
    assert zip5("K1A 0B1") is None
    assert zip5(None) is None


def test_military_zip_has_no_time_zone_and_a_bad_entry_is_dropped() -> None:
    apo = zip_facts("09001")
    assert apo is not None
    assert (apo.state, apo.zip_type, apo.time_zone) == ("AE", "MILITARY", None)
    # The package gives ZIP 99634 the "time zone" Napakiak (a town): not an IANA name, so not proposed.
    napakiak = zip_facts("99634")
    assert napakiak is not None
    assert (napakiak.city, napakiak.state, napakiak.time_zone) == ("Napakiak", "AK", None)
    assert napakiak.sourced() == {"city": Sourced("Napakiak", ZIP_SOURCE), "state": Sourced("AK", ZIP_SOURCE)}


def test_zip_facts_as_proposals() -> None:
    facts = zip_facts("99501")
    assert facts is not None
    assert facts.sourced() == {
        "city": Sourced("Anchorage", "zip:zipcodes"),
        "state": Sourced("AK", "zip:zipcodes"),
        "time_zone": Sourced("America/Anchorage", "zip:zipcodes"),
    }


@settings(max_examples=300, deadline=None)  # the process's first zipcodes call loads its table (~0.25 s)
@given(st.one_of(st.none(), st.text(max_size=12), st.from_regex(r"\A[0-9]{5}(-?[0-9]{4})?\Z")))
def test_zip_facts_never_raises(code: str | None) -> None:
    facts = zip_facts(code)
    if facts is not None:
        assert len(facts.zip5) == 5
        assert facts.zip5.isdigit()
        assert len(facts.state) == 2
        assert facts.time_zone is None or "/" in facts.time_zone


@settings(max_examples=100, deadline=None)
@given(st.from_regex(r"\A[0-9]{5}\Z"), st.from_regex(r"\A[0-9]{4}\Z"))
def test_zip_plus_four_never_changes_the_facts(code: str, plus_four: str) -> None:
    assert zip_facts(f"{code}-{plus_four}") == zip_facts(code)


# --- addresses ----------------------------------------------------------------------------------------------------


def _austin(street: str, unit: str | None = None) -> Address:
    return Address(street=street, unit=unit, city="austin", state="tx", postal_code="78701")


def test_scourgify_standardises_to_usps_pub_28() -> None:
    assert standardize_address(_austin("123 Main Street Apt 4")) == StandardAddress(
        line1="123 MAIN ST", line2="APT 4", city="AUSTIN", state="TX", postal_code="78701", source=SCOURGIFY
    )
    north = standardize_address(
        Address(street="4512 West 5th Street", unit="Suite 200", city="Austin", state="Texas", postal_code="787031234")
    )
    assert (north.line1, north.line2, north.state) == ("4512 W 5TH ST", "STE 200", "TX")
    assert (north.postal_code, north.source) == ("78703-1234", "scourgify")


def test_two_spellings_of_one_address_standardise_alike() -> None:
    spelled_out = standardize_address(_austin("123 Main Street Apt 4"))
    terse = standardize_address(_austin("123 main st #4"))
    split = standardize_address(_austin("123 main st", unit="#4"))
    assert spelled_out.line1 == terse.line1 == split.line1 == "123 MAIN ST"
    # Pub 28 writes "#" where the kind of unit is not known; "#4" does not say it is an apartment, so the designator
    # stays what the person wrote and the match key compares the unit's identifier alone.
    assert (spelled_out.line2, terse.line2, split.line2) == ("APT 4", "# 4", "# 4")
    assert address_key(spelled_out) == address_key(terse) == address_key(split) == "123|main st|4|78701"


def test_address_without_locality_is_standardised_from_the_street_line() -> None:
    assert standardize_address(Address(street="123 main st apt 4")) == StandardAddress(
        line1="123 MAIN ST", line2="APT 4", city=None, state=None, postal_code=None, source=SCOURGIFY
    )
    # A whole "city, ST ZIP" tail in the street line is read out of it.
    whole = standardize_address(Address(street="123 Main St, Austin, TX 78701"))
    assert (whole.line1, whole.city, whole.state, whole.postal_code) == ("123 MAIN ST", "AUSTIN", "TX", "78701")
    assert whole.source == SCOURGIFY


def test_unparseable_street_falls_back_without_raising() -> None:
    result = standardize_address(_austin("Behind the blue barn, ask for Joe"))
    assert result == StandardAddress(
        line1="BEHIND THE BLUE BARN ASK FOR JOE",
        line2=None,
        city="AUSTIN",
        state="TX",
        postal_code="78701",
        source=FALLBACK,
    )
    assert address_key(result) is None  # no house number: nothing to match on


def test_fallback_abbreviates_suffix_and_unit_only() -> None:
    # A PO box is ambiguous to scourgify; the local clean-up keeps it whole.
    assert standardize_address(_austin("P.O. Box 123")).line1 == "PO BOX 123"
    assert standardize_address(Address(street="12 St.Louis Ave", country="Mexico")).line1 == "12 ST LOUIS AVE"
    # A 4-digit ZIP: scourgify would zero-pad it into another town's ZIP (07870); the fallback keeps it.
    short = standardize_address(
        Address(street="123 North Main Street Apartment 4", city="Austin", state="Texas", postal_code="7870")
    )
    assert short == StandardAddress(
        line1="123 NORTH MAIN ST", line2="APT 4", city="AUSTIN", state="TX", postal_code="7870", source=FALLBACK
    )


def test_a_unit_word_is_not_taken_for_a_city() -> None:
    # scourgify reads "Basement" as the city BASEMENT when no city is given; the fallback keeps it a unit.
    result = standardize_address(Address(street="123 main st", unit="Basement", postal_code="78701"))
    assert (result.line1, result.line2, result.city, result.source) == ("123 MAIN ST", "BSMT", None, FALLBACK)


def test_foreign_address_is_not_given_to_the_us_parser() -> None:
    result = standardize_address(
        Address(street="24 Sussex Drive", city="Ottawa", state="ON", postal_code="K1M 1M4", country="Canada")
    )
    assert result == StandardAddress(
        line1="24 SUSSEX DR", line2=None, city="OTTAWA", state="ON", postal_code="K1M 1M4", source=FALLBACK
    )
    assert address_key(result) is None


def test_empty_address() -> None:
    assert standardize_address(Address()) == StandardAddress(None, None, None, None, None, FALLBACK)
    assert address_key(Address()) is None


def test_address_key_needs_a_zip_and_takes_a_raw_address() -> None:
    assert address_key(_austin("123 Main Street", unit="Unit 4")) == "123|main st|4|78701"
    assert address_key(Address(street="123 Main Street", unit="4", postal_code="78701-1234")) == "123|main st|4|78701"
    assert address_key(Address(street="123 Main Street", city="Austin", state="TX")) is None


def test_standard_address_as_proposals() -> None:
    proposals = standardize_address(_austin("123 Main Street")).sourced()
    assert proposals == {
        "address_line1": Sourced("123 MAIN ST", SCOURGIFY),
        "address_city": Sourced("AUSTIN", SCOURGIFY),
        "address_state": Sourced("TX", SCOURGIFY),
        "address_postal_code": Sourced("78701", SCOURGIFY),
    }


_part = st.one_of(st.none(), st.text(max_size=40))
_addresses = st.builds(
    Address,
    street=st.one_of(_part, st.from_regex(r"\A[0-9]{1,5} [A-Za-z]{1,12}( (St|Street|Ave|Rd|Apt 4|#2))?\Z")),
    unit=_part,
    city=_part,
    state=st.one_of(_part, st.sampled_from(["TX", "tx", "Texas", "NY", "XX"])),
    postal_code=st.one_of(_part, st.from_regex(r"\A[0-9]{5}(-[0-9]{4})?\Z")),
    country=st.one_of(st.none(), st.sampled_from(["US", "USA", "Canada", "", "zz"])),
)


@settings(max_examples=300, deadline=None)
@given(_addresses)
def test_standardize_address_never_raises(address: Address) -> None:
    result = standardize_address(address)
    assert result.source in (SCOURGIFY, FALLBACK)
    if result.source == SCOURGIFY:
        assert result.line1
    for part in (result.line1, result.line2, result.city, result.state, result.postal_code):
        assert part is None or (part.strip() == part and part != "")
    key = address_key(result)
    assert key is None or key.count("|") == 3


# --- phones -------------------------------------------------------------------------------------------------------


def test_us_number_is_fixed_line_or_mobile_and_likely_textable() -> None:
    facts = phone_facts("+15125550142")
    assert (facts.e164, facts.region, facts.number_type, facts.likely_textable) == (
        "+15125550142",
        "US",
        "fixed_line_or_mobile",
        True,
    )
    assert facts.sourced() == {
        "phone_region": Sourced("US", PHONENUMBERS),
        "phone_type": Sourced("fixed_line_or_mobile", PHONENUMBERS),
        "phone_likely_textable": Sourced(True, PHONENUMBERS),
    }


def test_toll_free_number_is_not_textable() -> None:
    facts = phone_facts("+18005551234")
    assert (facts.region, facts.number_type, facts.likely_textable) == ("US", "toll_free", False)


@pytest.mark.parametrize(
    ("number", "region", "number_type", "textable"),
    [
        ("+442079460000", "GB", "fixed_line", False),
        ("+61412345678", "AU", "mobile", True),
        ("+16135550123", "CA", "fixed_line_or_mobile", True),
        ("+17875551234", "PR", "fixed_line_or_mobile", True),
        ("+19005551234", "US", "premium_rate", False),
        ("(512) 555-0142", "US", "fixed_line_or_mobile", True),
    ],
)
def test_phone_regions_and_types(number: str, region: str, number_type: str, textable: bool) -> None:
    facts = phone_facts(number)
    assert (facts.region, facts.number_type, facts.likely_textable) == (region, number_type, textable)


@pytest.mark.parametrize("number", ["", "garbage", "+1512", "+10000000000"])
def test_invalid_numbers_are_marked_invalid(number: str) -> None:
    facts = phone_facts(number)
    assert (facts.region, facts.number_type, facts.likely_textable) == (None, "invalid", False)
    assert facts.sourced() == {}


# --- lead sources -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("Google Ads", "google_ads"),
        ("google", "google_ads"),
        ("AdWords", "google_ads"),
        ("google_ads", "google_ads"),
        ("GLSA", "google_lsa"),
        ("Google LSA", "google_lsa"),
        ("Google Local Services", "google_lsa"),
        ("Google Guaranteed", "google_lsa"),
        ("Google My Business", "website"),
        ("Angi", "angi"),
        ("Angie's List", "angi"),
        ("HomeAdvisor", "angi"),
        ("Home Advisor", "angi"),
        ("Thumbtack", "thumbtack"),
        ("Yelp", "yelp"),
        ("Facebook", "facebook"),
        ("FB ad", "facebook"),
        ("Instagram", "facebook"),
        ("referral", "referral"),
        ("Referred by neighbor", "referral"),
        ("word of mouth", "referral"),
        ("repeat", "repeat"),
        ("Existing customer", "repeat"),
        ("Maintenance plan member", "repeat"),
        ("website", "website"),
        ("web form", "website"),
        ("Online booking", "website"),
        ("door hanger", "direct_mail"),
        ("Postcard", "direct_mail"),
        ("EDDM mailer", "direct_mail"),
        ("truck wrap", "vehicle"),
        ("Saw your van", "vehicle"),
        ("Billboard on I-35", "other"),
        ("Other", "other"),
        ("  YELP  ", "yelp"),
    ],
)
def test_lead_source_mapping(raw: str, canonical: str) -> None:
    assert normalize_lead_source(raw) == canonical
    assert canonical in LEAD_SOURCES


@pytest.mark.parametrize("raw", [None, "", "   ", "---"])
def test_blank_lead_source_is_none(raw: str | None) -> None:
    assert normalize_lead_source(raw) is None


def test_lead_source_rule_is_a_rule_source() -> None:
    assert LEAD_SOURCE_RULE == "rule:lead_source"
    assert source_rank(LEAD_SOURCE_RULE) == source_rank(ZIP_SOURCE)


# --- equipment and warranties -------------------------------------------------------------------------------------

INSTALLED = date(2025, 3, 14)


@pytest.mark.parametrize(
    ("line_item", "equipment", "rule", "warranty_ends_on"),
    [
        ("Furnace installation - 96% AFUE 60k BTU", "furnace", "furnace_install", date(2035, 3, 14)),
        ("Install new 80% gas furnace", "furnace", "furnace_install", date(2035, 3, 14)),
        ("AC install - 3 ton", "air conditioner", "ac_install", date(2035, 3, 14)),
        ("A/C condenser replacement", "air conditioner", "ac_install", date(2035, 3, 14)),
        ("Central air installation", "air conditioner", "ac_install", date(2035, 3, 14)),
        ("Heat pump install", "heat pump", "heat_pump_install", date(2035, 3, 14)),
        ("Ductless mini-split installation", "heat pump", "heat_pump_install", date(2035, 3, 14)),
        ("Water heater install - 50 gal gas", "water heater", "water_heater_install", date(2031, 3, 14)),
        ("Replace 40 gallon hot water heater", "water heater", "water_heater_install", date(2031, 3, 14)),
        ("Tankless water heater install", "tankless water heater", "tankless_water_heater_install", date(2037, 3, 14)),
        ("Boiler installation", "boiler", "boiler_install", date(2035, 3, 14)),
        ("Sump pump install", "sump pump", "sump_pump_install", date(2028, 3, 14)),
        ("Electrical panel upgrade to 200A", "electrical panel", "panel_upgrade", date(2035, 3, 14)),
        ("200 amp service upgrade", "electrical panel", "panel_upgrade", date(2035, 3, 14)),
        ("Roof replacement - architectural shingles", "roof", "roof_replacement", date(2050, 3, 14)),
        ("Full tear-off and re-roof", "roof", "roof_replacement", date(2050, 3, 14)),
    ],
)
def test_every_default_rule(line_item: str, equipment: str, rule: str, warranty_ends_on: date) -> None:
    assert equipment_from_line_items([line_item], INSTALLED) == [
        Equipment(equipment, INSTALLED, warranty_ends_on, rule, line_item)
    ]


def test_every_default_rule_is_covered_above() -> None:
    assert {rule.name for rule in DEFAULT_EQUIPMENT_RULES} == {
        "furnace_install",
        "ac_install",
        "heat_pump_install",
        "water_heater_install",
        "tankless_water_heater_install",
        "boiler_install",
        "sump_pump_install",
        "panel_upgrade",
        "roof_replacement",
    }


def test_tankless_wins_over_tank() -> None:
    (found,) = equipment_from_line_items(["Tankless water heater replacement"], INSTALLED)
    assert (found.equipment, found.warranty_ends_on) == ("tankless water heater", date(2037, 3, 14))
    reordered = [rule for rule in DEFAULT_EQUIPMENT_RULES if rule.name != "tankless_water_heater_install"]
    (tank,) = equipment_from_line_items(["Tankless water heater replacement"], INSTALLED, reordered)
    assert tank.equipment == "water heater"  # proof the tank rule matches too: order decides


def test_heat_pump_water_heater_is_a_water_heater() -> None:
    (found,) = equipment_from_line_items(["Heat pump water heater install"], INSTALLED)
    assert found.equipment == "water heater"


@pytest.mark.parametrize(
    "line_item",
    [
        "Furnace tune-up",
        "Furnace igniter replacement",
        "Replace furnace filter",
        "AC coil replacement",
        "Condenser fan motor replacement",
        "Water heater flush",
        "Water heater element replacement",
        "Tankless descaling flush",
        "Sump pump float switch replacement",
        "Solar panel install",
        "Breaker replacement in panel",
        "Roof leak repair",
        "Replace roof vent",
        "HVAC system install",
        "Diagnostic fee",
        "Labor",
        "",
        "   ",
    ],
)
def test_work_on_equipment_is_not_an_install(line_item: str) -> None:
    assert equipment_from_line_items([line_item], INSTALLED) == []


def test_a_job_lists_each_equipment_once() -> None:
    items = ["Furnace install", "Furnace install - labor", "AC install", "Permit", "Thermostat install"]
    found = equipment_from_line_items(items, INSTALLED)
    assert [(e.equipment, e.line_item, e.source) for e in found] == [
        ("furnace", "Furnace install", "rule:furnace_install"),
        ("air conditioner", "AC install", "rule:ac_install"),
    ]


def test_leap_day_install_ends_on_28_february() -> None:
    (found,) = equipment_from_line_items(["Furnace install"], date(2024, 2, 29))
    assert found.warranty_ends_on == date(2034, 2, 28)


def test_shop_rules_keyword_and_no_warranty() -> None:
    rules = [
        EquipmentRule("water_softener", "softener", "water softener", 0),
        EquipmentRule("generator", r"generac|generator\s+install", "generator", 5),
    ]
    found = equipment_from_line_items(["Water SOFTENER", "Generac 22kW", "Furnace install"], INSTALLED, rules)
    assert [(e.equipment, e.warranty_ends_on) for e in found] == [
        ("water softener", None),
        ("generator", date(2030, 3, 14)),
    ]


@pytest.mark.parametrize(
    ("name", "match", "years"),
    [("bad", "furnace(", 10), ("bad", "furnace", -1), (" ", "furnace", 10)],
)
def test_invalid_rules_are_refused(name: str, match: str, years: int) -> None:
    with pytest.raises(ValueError):
        EquipmentRule(name, match, "furnace", years)


# --- the merge rule -----------------------------------------------------------------------------------------------

HCP = vendor_source("housecallpro")


def test_source_ranking() -> None:
    assert source_rank(PERSON) > source_rank(HCP) > source_rank(ZIP_SOURCE) > source_rank(FALLBACK) > 0
    assert source_rank(ZIP_SOURCE) == source_rank(SCOURGIFY) == source_rank(PHONENUMBERS)
    assert source_rank(rule_source("furnace_install")) == source_rank(SCOURGIFY)
    assert source_rank("vendor:") == source_rank("made-up") == 0


def test_fill_missing_fills_gaps_only() -> None:
    current = {"city": None, "state": Sourced("", HCP), "time_zone": Sourced("America/Denver", HCP)}
    proposed = {
        "city": Sourced("Austin", ZIP_SOURCE),
        "state": Sourced("TX", ZIP_SOURCE),
        "time_zone": Sourced("America/Chicago", ZIP_SOURCE),
        "county": Sourced("Travis County", ZIP_SOURCE),
    }
    assert fill_missing(current, proposed) == {
        "city": Sourced("Austin", ZIP_SOURCE),
        "state": Sourced("TX", ZIP_SOURCE),
        "county": Sourced("Travis County", ZIP_SOURCE),
    }


def test_never_overwrite_a_persons_value() -> None:
    current = {"city": Sourced("Round Rock", PERSON), "lead_source": Sourced("referral", PERSON)}
    proposed = {
        "city": Sourced("Austin", HCP),
        "lead_source": Sourced("google_ads", vendor_source("servicetitan")),
    }
    assert fill_missing(current, proposed) == {}
    # Not even by another person's value through enrichment, and not a field a person deliberately cleared.
    assert fill_missing({"city": Sourced("Round Rock", PERSON)}, {"city": Sourced("Austin", PERSON)}) == {}
    assert fill_missing({"city": Sourced(None, PERSON)}, {"city": Sourced("Austin", ZIP_SOURCE)}) == {}


def test_vendor_outranks_guesses_and_guesses_never_replace_vendor_data() -> None:
    guessed = {"city": Sourced("AUSTIN", SCOURGIFY), "time_zone": Sourced("America/Chicago", ZIP_SOURCE)}
    vendor = {"city": Sourced("Austin", HCP), "time_zone": Sourced("America/Denver", HCP)}
    assert fill_missing(guessed, vendor) == vendor
    assert fill_missing(vendor, guessed) == {}


def test_equal_ranks_keep_the_current_value() -> None:
    assert fill_missing({"city": Sourced("Austin", HCP)}, {"city": Sourced("Dallas", vendor_source("jobber"))}) == {}
    assert fill_missing({"city": Sourced("AUSTIN", SCOURGIFY)}, {"city": Sourced("Austin", ZIP_SOURCE)}) == {}


def test_scourgify_replaces_a_fallback_address() -> None:
    current = {"address_line1": Sourced("123 MAIN STREET APT 4", FALLBACK)}
    proposed = {"address_line1": Sourced("123 MAIN ST", SCOURGIFY)}
    assert fill_missing(current, proposed) == proposed
    assert fill_missing(proposed, current) == {}


def test_blank_proposals_and_unknown_sources() -> None:
    assert fill_missing({}, {"city": Sourced(None, HCP), "state": Sourced("  ", HCP)}) == {}
    assert fill_missing({}, {"city": Sourced("Austin", "guess")}) == {"city": Sourced("Austin", "guess")}
    assert fill_missing({"city": Sourced("Austin", "guess")}, {"city": Sourced("AUSTIN", FALLBACK)}) == {
        "city": Sourced("AUSTIN", FALLBACK)
    }
    assert fill_missing({"city": Sourced("AUSTIN", FALLBACK)}, {"city": Sourced("Austin", "guess")}) == {}


def test_enrichment_end_to_end_for_a_new_customer() -> None:
    address = Address(street="123 main st #4", postal_code="78701")
    facts = zip_facts(address.postal_code)
    assert facts is not None
    current: dict[str, Sourced | None] = {
        "city": None,
        "state": None,
        "time_zone": None,
        "lead_source": Sourced("yelp", PERSON),
    }
    lead = normalize_lead_source("Google LSA")
    assert lead is not None
    proposed = {**facts.sourced(), "lead_source": Sourced(lead, LEAD_SOURCE_RULE)}
    assert fill_missing(current, proposed) == {
        "city": Sourced("Austin", ZIP_SOURCE),
        "state": Sourced("TX", ZIP_SOURCE),
        "time_zone": Sourced("America/Chicago", ZIP_SOURCE),
    }
    assert address_key(address) == "123|main st|4|78701"


# --- one-box addresses ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "parts"),
    [
        (
            "3763 Menchaca Road Unit 305, Austin, TX 78748",
            ("3763 Menchaca Road", "Unit 305", "Austin", "TX", "78748"),
        ),
        ("4821 Bluebonnet Ln, Austin, TX 78745", ("4821 Bluebonnet Ln", None, "Austin", "TX", "78745")),
        ("123 main st #4 austin tx 78701", ("123 main st", "# 4", "austin", "tx", "78701")),
    ],
)
def test_an_address_typed_into_one_box_is_split_into_its_parts_as_typed(
    typed: str, parts: tuple[str | None, ...]
) -> None:
    split = split_one_line(Address(street=typed))
    assert (split.street, split.unit, split.city, split.state, split.postal_code) == parts


@pytest.mark.parametrize(
    "address",
    [
        Address(street="123 Main St"),  # a street alone: nothing to split
        Address(street="123 Main St, Austin", city="Austin"),  # the parts were given apart: left as given
        Address(street="PO Box 12, Austin TX 78701"),  # not a street address
        Address(street="Rural Route 2 Box 17, Bastrop TX 78602"),
    ],
)
def test_what_is_not_one_street_address_in_one_box_is_left_as_given(address: Address) -> None:
    assert split_one_line(address) == address
