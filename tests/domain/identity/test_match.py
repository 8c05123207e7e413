"""Identity matching: keys, scores, decisions and the in-memory matcher, on the cases a home-services shop sees."""

from __future__ import annotations

from typing import Any

import pytest

from fieldrelay.domain.identity.features import features
from fieldrelay.domain.identity.keys import nickname_compatible, parse_street
from fieldrelay.domain.identity.match import (
    HOUSEHOLD_CAP,
    MERGE_THRESHOLD,
    REVIEW_THRESHOLD,
    UNCONFIRMED_CAP,
    Decision,
    Matcher,
    MatchScore,
    Person,
    decide,
    match_keys,
    name_counts,
    score,
    score_features,
)

ROBERT = Person.from_raw(
    "Robert",
    "Smith",
    phones=["(512) 555-0142"],
    emails=["Robert.Smith@Example.com"],
    street="123 Main Street Apt 4",
    city="Austin",
    state="TX",
    postal_code="78701",
)


def variant(**changes: Any) -> Person:
    """ROBERT with some fields changed, raw phones and emails normalised as a connector would."""
    fields: dict[str, Any] = {
        "first_name": ROBERT.first_name,
        "last_name": ROBERT.last_name,
        "phones": ["(512) 555-0142"],
        "emails": ["robert.smith@example.com"],
        "street": ROBERT.street,
        "city": ROBERT.city,
        "state": ROBERT.state,
        "postal_code": ROBERT.postal_code,
    }
    fields.update(changes)
    return Person.from_raw(**fields)


def decision(a: Person, b: Person) -> Decision:
    return decide(score(a, b))


# --- normalisation and keys ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["512.555.0142", "+1 (512) 555-0142", "5125550142", "1-512-555-0142"])
def test_phone_formats_share_the_e164_key_and_count_as_shared(raw: str) -> None:
    other = variant(phones=[raw], emails=[])
    assert "p:+15125550142" in match_keys(other) & match_keys(ROBERT)
    assert score(ROBERT, other).outcome("phone") == "shared"


def test_invalid_phones_and_emails_are_dropped_by_from_raw() -> None:
    person = Person.from_raw("A", "B", phones=["000", None, "512-555-0142"], emails=["nope", " X@Y.COM "])
    assert person.phones == ("+15125550142",)
    assert person.emails == ("x@y.com",)


@pytest.mark.parametrize(
    ("street", "unit"),
    [
        ("123 main st #4", None),
        ("123 Main St., Apt. 4", None),
        ("123 MAIN STREET UNIT 04", None),
        ("123 main st", "#4"),
        ("123 Main St", "Apt 4"),
        ("123 Main St 4", None),
    ],
)
def test_street_and_unit_variants_give_one_address_key(street: str, unit: str | None) -> None:
    assert parse_street(street, unit) == ("123", "main st", "4")
    other = variant(street=street, unit=unit)
    assert "a:123|main st|4|78701" in match_keys(other) & match_keys(ROBERT)
    assert score(ROBERT, other).outcome("address") == "same"


def test_street_parsing_keeps_a_highway_number_and_directions() -> None:
    assert parse_street("500 Highway 7") == ("500", "highway 7", "")
    assert parse_street("12 North Lamar Boulevard Suite 200") == ("12", "n lamar blvd", "200")


def test_nickname_key_uses_the_formal_initial() -> None:
    bob = variant(first_name="Bob", phones=[], emails=[], street=None)
    assert "n:rS530|78701" in match_keys(bob) & match_keys(ROBERT)


def test_keys_of_an_empty_record_are_empty() -> None:
    assert match_keys(Person()) == frozenset()


# --- the same person -----------------------------------------------------------------------------------------------


def test_one_person_through_four_channels_is_merged() -> None:
    web_form = variant(phones=["512.555.0142"], street="123 main st #4", city=None)
    phone_call = variant(first_name="Bob", emails=[], street="123 Main St", unit="Apt 4", postal_code=None)
    marketplace = variant(first_name="ROBERT", last_name="SMITH", street=None, city=None)
    for record in (web_form, phone_call, marketplace):
        assert decision(ROBERT, record) is Decision.MERGE, score(ROBERT, record)


@pytest.mark.parametrize(("first", "last"), [("Rboert", "Smith"), ("Robert", "Smtih"), ("Robertt", "Smith")])
def test_one_letter_typos_with_a_shared_phone_merge(first: str, last: str) -> None:
    other = variant(first_name=first, last_name=last, emails=[])
    match = score(ROBERT, other)
    assert "typo" in (match.outcome("first_name"), match.outcome("last_name"))
    assert decide(match) is Decision.MERGE


@pytest.mark.parametrize(
    ("formal", "nickname"),
    [("Robert", "Bob"), ("William", "Bill"), ("Elizabeth", "Liz"), ("Margaret", "Peggy"), ("Richard", "Rick")],
)
def test_nicknames_merge(formal: str, nickname: str) -> None:
    a = variant(first_name=formal)
    b = variant(first_name=nickname, emails=[])
    assert score(a, b).outcome("first_name") == "nickname"
    assert decide(score(a, b)) is Decision.MERGE


def test_nickname_table_links_nicknames_of_one_name_but_never_two_formal_names() -> None:
    assert nickname_compatible("bob", "rob")
    assert nickname_compatible("chris", "christina")
    assert not nickname_compatible("christopher", "christina")
    assert not nickname_compatible("pat", "trish")  # patrick or patricia, against patricia
    assert not nickname_compatible("alex", "sandra")  # sandra is a name in its own right


def test_missing_email_on_one_side_does_not_count_against() -> None:
    other = variant(emails=[])
    match = score(ROBERT, other)
    assert match.outcome("email") is None
    assert decide(match) is Decision.MERGE


def test_true_duplicate_with_a_different_email_merges() -> None:
    # Same name, phone and address; a second mailbox is common, so the other email costs little.
    other = variant(emails=["bob.smith.home@gmail.com"])
    match = score(ROBERT, other)
    assert match.outcome("email") == "different"
    assert decide(match) is Decision.MERGE


def test_names_swapped_on_a_form_still_merge() -> None:
    other = variant(first_name="Smith", last_name="Robert")
    assert score(ROBERT, other).outcome("first_name") == "swapped"
    assert decision(ROBERT, other) is Decision.MERGE


# --- different people ----------------------------------------------------------------------------------------------


def test_two_adults_at_one_address_are_two_people() -> None:
    jane = variant(first_name="Jane", phones=["737-201-3344"], emails=["jane@example.com"])
    match = score(ROBERT, jane)
    assert match.rule == "household"
    assert match.total <= HOUSEHOLD_CAP
    assert decide(match) is Decision.DISTINCT


def test_spouse_sharing_the_landline_is_distinct() -> None:
    landline = "(512) 555-0199"
    husband = variant(phones=["(512) 555-0142", landline], street=None)
    wife = variant(first_name="Mary", phones=[landline], emails=[], street=None)
    match = score(husband, wife)
    assert match.outcome("phone") == "shared"
    assert match.rule == "household"
    assert decide(match) is Decision.DISTINCT


def test_spouses_sharing_address_landline_and_family_email_are_still_two_people() -> None:
    # Everything but the first name agrees: the sum alone would merge them; the household rule caps it.
    shared = {"phones": ["512-555-0199"], "emails": ["thesmiths@example.com"]}
    match = score(variant(**shared), variant(first_name="Linda", **shared))
    assert match.log_odds > 0
    assert match.rule == "household"
    assert decide(match) is Decision.DISTINCT


def test_a_family_email_does_not_merge_spouses() -> None:
    family = ["thesmiths@example.com"]
    assert decision(variant(emails=family), variant(first_name="Linda", emails=family, phones=[])) is Decision.DISTINCT


@pytest.mark.parametrize(("a", "b"), [("Carl", "Carol"), ("Daniel", "Danielle"), ("Mary", "Gary")])
def test_names_one_letter_apart_that_are_both_real_are_different_people(a: str, b: str) -> None:
    match = score(variant(first_name=a, phones=[]), variant(first_name=b, phones=[], emails=[]))
    assert match.outcome("first_name") == "different"
    assert decide(match) is Decision.DISTINCT


def test_same_common_name_in_another_city_is_distinct_and_not_even_a_candidate() -> None:
    john = Person.from_raw(
        "John", "Smith", phones=["512-555-0100"], street="10 Oak St", city="Austin", postal_code="78701"
    )
    other = Person.from_raw(
        "John", "Smith", phones=["214-555-0177"], street="99 Elm Ave", city="Dallas", postal_code="75201"
    )
    assert decision(john, other) is Decision.DISTINCT
    matcher: Matcher[str] = Matcher()
    matcher.add("austin", john)
    assert matcher.candidates(other) == []


def test_father_and_son_of_one_name_are_told_apart_by_the_suffix() -> None:
    son = variant(last_name="Smith Jr.", phones=["737-201-3344"], emails=[])
    senior = variant(last_name="Smith Sr", emails=[])
    assert score(senior, son).rule == "household"
    assert decision(senior, son) is Decision.DISTINCT
    assert decision(ROBERT, son) is Decision.REVIEW  # "Jr" on one record only: a person decides


def test_different_units_in_one_building_are_neighbours() -> None:
    neighbour = variant(first_name="Bob", phones=["737-201-3344"], emails=[], unit=None, street="123 Main St Apt 9")
    match = score(ROBERT, neighbour)
    assert match.outcome("address") == "different_unit"
    assert decide(match) is Decision.DISTINCT


# --- review -------------------------------------------------------------------------------------------------------


def test_no_first_name_is_at_most_review_even_with_everything_else_shared() -> None:
    # A mailbox that names nobody (one naming him confirms him: test_realities.py).
    robert = variant(emails=["smiths@example.com"])
    other = variant(first_name=None, emails=["smiths@example.com"])
    match = score(robert, other)
    assert match.rule == "unconfirmed"
    assert match.total <= UNCONFIRMED_CAP < MERGE_THRESHOLD
    assert decide(match) is Decision.REVIEW


def test_full_name_and_zip_alone_go_to_review() -> None:
    a = variant(phones=[], emails=["a@example.com"], street=None, city=None)
    b = variant(phones=["737-201-3344"], emails=[], street=None, city=None)
    assert decision(a, b) is Decision.REVIEW


# --- thresholds ----------------------------------------------------------------------------------------------------


def test_score_is_a_probability_with_evidence() -> None:
    match = score(ROBERT, variant(first_name="Bob"))
    assert 0.0 <= match.total <= 1.0
    assert {e.field for e in match.evidence} >= {"first_name", "last_name", "phone", "email", "address"}
    assert all(isinstance(e.weight, float) for e in match.evidence)


def test_decide_respects_the_thresholds_and_their_overrides() -> None:
    def at(total: float) -> MatchScore:
        return MatchScore(total, 0.0, ())

    assert decide(at(MERGE_THRESHOLD)) is Decision.MERGE
    assert decide(at(MERGE_THRESHOLD - 1e-9)) is Decision.REVIEW
    assert decide(at(REVIEW_THRESHOLD)) is Decision.REVIEW
    assert decide(at(REVIEW_THRESHOLD - 1e-9)) is Decision.DISTINCT
    assert decide(at(0.8), merge_at=0.75) is Decision.MERGE
    assert decide(at(0.3), review_at=0.25) is Decision.REVIEW
    assert HOUSEHOLD_CAP < REVIEW_THRESHOLD < UNCONFIRMED_CAP < MERGE_THRESHOLD


def test_matcher_thresholds_are_used_for_its_decisions() -> None:
    strict: Matcher[str] = Matcher(merge_at=0.999999)
    strict.add("r", ROBERT)
    [candidate] = strict.candidates(variant(first_name="Bob", emails=[], street=None))
    assert candidate.score.total < 0.999999
    assert candidate.decision is Decision.REVIEW


# --- identifiers ---------------------------------------------------------------------------------------------------


def test_identifiers_agree_only_when_equal_unless_declared_typed() -> None:
    a = Person("Ann", "Lee", identifiers={"ssn": "1234567"}, date_of_birth="1980-01-02")
    b = Person("Ann", "Lee", identifiers={"ssn": "1234576"}, date_of_birth="19800102")
    assert score(a, b).outcome("id:ssn") == "different"
    assert score(a, b, typed_identifiers={"ssn"}).outcome("id:ssn") == "near"
    assert score(a, b).outcome("date_of_birth") == "exact"
    assert "i:ssn:1234567" in match_keys(a)
    assert "d:19800102" in match_keys(a) & match_keys(b)


# --- the matcher ---------------------------------------------------------------------------------------------------


def test_matcher_returns_candidates_best_first() -> None:
    matcher: Matcher[str] = Matcher()
    matcher.add("robert", ROBERT)
    matcher.add("jane", variant(first_name="Jane", phones=["737-201-3344"], emails=["jane@example.com"]))
    matcher.add("elsewhere", Person.from_raw("Robert", "Smith", phones=["214-555-0177"], postal_code="75201"))
    found = matcher.candidates(variant(first_name="Bob", emails=[]))
    assert [c.id for c in found] == ["robert", "jane"]
    assert [c.decision for c in found] == [Decision.MERGE, Decision.DISTINCT]
    assert found[0].score.total >= found[1].score.total
    assert len(matcher) == 3


def test_matcher_scores_against_every_variant_of_a_person() -> None:
    matcher: Matcher[int] = Matcher()
    matcher.add(1, variant(emails=[], street=None))  # phone only
    matcher.add(1, variant(phones=[], street=None))  # the email, merged into the same person
    [candidate] = matcher.candidates(variant(first_name="Bob", phones=[], street=None))
    assert candidate.id == 1
    assert candidate.score.outcome("email") == "shared"
    assert candidate.decision is Decision.MERGE


def test_an_ambiguous_nickname_between_two_people_of_one_household_goes_to_review() -> None:
    address = {"street": "9 Oak Ln", "city": "Austin", "postal_code": "78701"}
    landline = "512-555-0199"
    matcher: Matcher[str] = Matcher()
    matcher.add("patrick", Person.from_raw("Patrick", "Hunt", phones=[landline], **address))
    matcher.add("patricia", Person.from_raw("Patricia", "Hunt", phones=[landline], **address))
    found = matcher.candidates(Person.from_raw("Pat", "Hunt", phones=[landline], **address))
    assert {c.id for c in found} == {"patrick", "patricia"}
    assert all(c.decision is Decision.REVIEW for c in found)


def test_a_placeholder_key_shared_by_too_many_records_is_skipped() -> None:
    matcher: Matcher[int] = Matcher(max_postings=3)
    for i in range(4):
        matcher.add(i, Person.from_raw(f"Name{i}", f"Family{i}", emails=["none@none.com"]))
    assert matcher.candidates(Person.from_raw("Other", "Person", emails=["none@none.com"])) == []


# --- how common a name is in the place -----------------------------------------------------------------------------


def zip_only(first: str, last: str, phone: str, lead_source: str | None = None) -> Person:
    return Person.from_raw(first, last, phones=[phone], postal_code="78701", lead_source=lead_source)


def test_name_counts_take_the_rarest_name_key_each_person_shares() -> None:
    holders = {
        "g:jane|s|78701": ["jane smith", "jane sanchez"],
        "m:J500|S530|78701": ["jane smith"],
        "p:+15125550100": ["jane smith", "bob"],
    }
    assert name_counts(holders) == {"jane smith": 1, "jane sanchez": 2}


def test_jane_s_and_the_zip_code_is_reviewed_when_one_jane_s_lives_there() -> None:
    matcher: Matcher[str] = Matcher()
    matcher.add("smith", zip_only("Jane", "Smith", "512-555-0101"))
    [found] = matcher.candidates(zip_only("Jane", "S.", "830-555-0150", "Thumbtack"))
    assert found.decision is Decision.REVIEW
    assert found.score.outcome("name_frequency") is None


def test_jane_s_and_the_zip_code_says_nothing_when_several_jane_s_live_there() -> None:
    matcher: Matcher[str] = Matcher()
    matcher.add("smith", zip_only("Jane", "Smith", "512-555-0101"))
    matcher.add("sanchez", zip_only("Jane", "Sanchez", "512-555-0102"))
    found = matcher.candidates(zip_only("Jane", "S.", "830-555-0150", "Thumbtack"))
    assert {c.id for c in found} == {"smith", "sanchez"}
    assert all(c.decision is Decision.DISTINCT for c in found)
    assert {c.score.outcome("name_frequency") for c in found} == {"shared by 2"}


def test_a_full_name_is_counted_apart_from_others_of_its_initial() -> None:
    """Jane Smith and Jane Sanchez share "Jane S." in the ZIP code; "Jane Smith" is still one of one there."""
    matcher: Matcher[str] = Matcher()
    matcher.add("smith", zip_only("Jane", "Smith", "512-555-0101"))
    matcher.add("sanchez", zip_only("Jane", "Sanchez", "512-555-0102"))
    best = matcher.candidates(Person.from_raw("Jane", "Smith", emails=["js@example.com"], postal_code="78701"))[0]
    assert best.id == "smith" and best.decision is Decision.REVIEW
    assert best.score.outcome("name_frequency") is None


def test_a_common_name_weighs_as_much_as_ever_beside_a_shared_phone_or_address() -> None:
    """The household rule, not the town's names, speaks for people who share a phone or an address."""
    a, b = features(ROBERT), features(variant(first_name="Bob", emails=[]))
    c = features(variant(phones=["737-201-3344"], emails=[]))
    for x, y in ((a, b), (a, c)):
        assert score_features(x, y, name_count=9) == score_features(x, y)
    alone = features(variant(phones=[], emails=[], street=None)), features(variant(phones=[], street=None, city=None))
    assert score_features(*alone, name_count=3).log_odds < score_features(*alone).log_odds
