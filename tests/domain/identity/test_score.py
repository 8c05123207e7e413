"""Identity matching: dates of birth, identifiers, towns, the surname-prefix key and the module split."""

from __future__ import annotations

import pytest

from fieldrelay.domain.identity import features as identity_features
from fieldrelay.domain.identity import index as identity_index
from fieldrelay.domain.identity import match as identity
from fieldrelay.domain.identity import score as identity_score
from fieldrelay.domain.identity.match import (
    MERGE_THRESHOLD,
    PRIOR,
    REVIEW_THRESHOLD,
    WEIGHTS,
    Decision,
    Matcher,
    Person,
    decide,
    key_strength,
    match_keys,
    score,
)

SSN = frozenset({"ssn"})


def person(first: str, last: str, dob: str, ssn: str, street: str = "15 Goodwin St") -> Person:
    """A record with a date of birth and a social security number, in Austin 78701."""
    ids = {"ssn": ssn}
    return Person(first, last, street=street, city="Austin", postal_code="78701", date_of_birth=dob, identifiers=ids)


# --- date of birth -------------------------------------------------------------------------------------------------


def test_a_date_of_birth_one_keystroke_off_still_supports_the_match() -> None:
    # Full name and address agree; the typed id does not. Two digits swapped in the date is a slip, not another person.
    a = person("Finlay", "White", "1964-01-21", "1233821")
    slip = person("Finlay", "White", "1964-01-12", "5962113")
    match = score(a, slip, typed_identifiers=SSN)
    assert match.outcome("date_of_birth") == "near"
    assert decide(match) is Decision.MERGE


def test_a_different_date_of_birth_keeps_a_namesake_at_one_address_apart() -> None:
    # Father and son of one name, no suffix on either record: the dates of birth tell them apart.
    father = person("Finlay", "White", "1940-03-09", "1233821")
    son = person("Finlay", "White", "1964-01-21", "5962113")
    match = score(father, son, typed_identifiers=SSN)
    assert match.outcome("date_of_birth") == "different"
    assert decide(match) is Decision.DISTINCT
    assert WEIGHTS["date_of_birth:exact"] > WEIGHTS["date_of_birth:near"] > 0 > WEIGHTS["date_of_birth:different"]


# --- identifiers ---------------------------------------------------------------------------------------------------


def test_an_agreeing_identifier_against_names_and_date_all_different_is_left_to_review() -> None:
    # Nothing else on the records (an id lookup in another system): the identifier against everything that disagrees.
    a = Person("Kylie", "Dixon", date_of_birth="1922-06-09", identifiers={"ssn": "7161189"})
    b = Person("Madison", "Goode", date_of_birth="1900-04-04", identifiers={"ssn": "7161189"})
    match = score(a, b)
    assert match.outcome("id:ssn") == "exact"
    assert match.identified
    assert match.rule is None
    assert REVIEW_THRESHOLD <= match.total < MERGE_THRESHOLD
    # The identifier offsets the prior and the three disagreeing fields; one more agreeing field makes it a merge.
    disagreeing = WEIGHTS["first_name:different"] + WEIGHTS["last_name:different"] + WEIGHTS["date_of_birth:different"]
    assert PRIOR + disagreeing + WEIGHTS["identifier:exact"] == pytest.approx(0.0)
    kylie = Person("Kylie", "Goode", date_of_birth="1900-04-04", identifiers={"ssn": "7161189"})
    assert decide(score(a, kylie)) is Decision.MERGE


def test_a_typed_identifier_one_slip_off_is_strong_evidence_but_a_machine_id_is_not() -> None:
    a = person("Connor", "Nguyen", "1986-06-23", "1825594", street="19 Lance Hill Ave")
    b = person("Connor", "Nguyen", "1986-11-16", "1825598", street="11 Lance Hill Ave")
    typed = score(a, b, typed_identifiers=SSN)
    assert typed.outcome("id:ssn") == "near"
    assert typed.identified
    assert decide(typed) is Decision.MERGE
    machine = score(a, b)
    assert machine.outcome("id:ssn") == "different"
    assert not machine.identified
    assert decide(machine) is Decision.DISTINCT


# --- towns ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("city", "postal_code"),
    [
        ("Round Rokc", "78646"),  # ZIP code and city each one keystroke off
        ("RoundRock", "78681"),  # a space left out of the city, another ZIP code of the same town
    ],
)
def test_slips_in_city_and_zip_do_not_move_an_address_to_another_town(city: str, postal_code: str) -> None:
    a = Person("Kayne", "Gillard", street="168 Bursaria St", city="Round Rock", postal_code="78664")
    b = Person("Kayne", "Gillard", street="168 Bursaria St", city=city, postal_code=postal_code)
    assert score(a, b).outcome("address") == "same"


@pytest.mark.parametrize(
    ("city", "postal_code"),
    [
        ("Justin", "76247"),  # a town one letter from Austin, with a ZIP code far from it
        (None, "78710"),  # no city on one side: the ZIP codes alone disagree
        ("Dallas", "78702"),  # ZIP code one keystroke off, city clearly another
    ],
)
def test_the_same_street_address_in_another_town_is_another_address(city: str | None, postal_code: str) -> None:
    a = Person("Ann", "Lee", street="100 Main St", city="Austin", postal_code="78701")
    b = Person("Ann", "Lee", street="100 Main St", city=city, postal_code=postal_code)
    assert score(a, b).outcome("address") == "different"


# --- keys ----------------------------------------------------------------------------------------------------------


def test_a_dropped_consonant_that_changes_the_soundex_is_still_found_by_the_surname_prefix() -> None:
    known = Person.from_raw("Benjamin", "Camens", phones=["512-555-0142"], street="7 Harrison St", postal_code="78664")
    incoming = Person.from_raw("Benjamin", "Cames", street="16 Harrison St", postal_code="78664")
    shared = match_keys(known) & match_keys(incoming)
    # Soundex C552 against C520: no soundex key in common; the prefix key (and first name + initial) find it.
    assert "r:bcam|78664" in shared and not any(key.startswith(("n:", "m:")) for key in shared)
    matcher: Matcher[str] = Matcher()
    matcher.add("camens", known)
    assert [c.id for c in matcher.candidates(incoming)] == ["camens"]


def test_short_surnames_get_no_prefix_key() -> None:
    assert not any(key.startswith("r:") for key in match_keys(Person("Ann", "Ng", postal_code="78701")))


# --- the matcher ---------------------------------------------------------------------------------------------------


def test_an_identifier_settles_which_adult_of_a_household_an_ambiguous_name_is() -> None:
    def hunt(first: str, account: str | None = None) -> Person:
        ids = {"acct": account} if account else {}
        return Person(first, "Hunt", street="9 Oak Ln", city="Austin", postal_code="78701", identifiers=ids)

    matcher: Matcher[str] = Matcher()
    matcher.add("patrick", hunt("Patrick", "hcp-17"))
    matcher.add("patricia", hunt("Patricia", "hcp-42"))
    found = matcher.candidates(hunt("Pat", "hcp-42"))
    assert found[0].id == "patricia"
    assert found[0].score.identified
    assert found[0].decision is Decision.MERGE
    # Without the identifier "Pat" fits both: a person decides.
    unsure = matcher.candidates(hunt("Pat"))
    assert all(c.decision is not Decision.MERGE for c in unsure)


# --- the module split ----------------------------------------------------------------------------------------------


def test_identity_re_exports_the_public_names_of_its_parts() -> None:
    parts = (identity_features, identity_score, identity_index)
    for name in identity.__all__:
        assert any(getattr(part, name, None) is getattr(identity, name) for part in parts), name
    assert {
        "Person",
        "Decision",
        "Evidence",
        "MatchScore",
        "Features",
        "features",
        "keys_of",
        "match_keys",
        "score",
        "score_features",
        "decide",
        "Candidate",
        "Matcher",
        "MERGE_THRESHOLD",
        "REVIEW_THRESHOLD",
        "HOUSEHOLD_CAP",
        "UNCONFIRMED_CAP",
        "MAX_POSTINGS",
        "WEIGHTS",
        "PRIOR",
    } <= set(identity.__all__)


def test_a_lone_name_that_is_the_other_records_surname_is_read_as_the_surname() -> None:
    """ "Torres" alone in a form's name box, with the phone on file: a person reviews it, not the household rule."""
    on_file = Person.from_raw("Ana", "Torres", phones=["512-555-0100"], street="1 Elm St", postal_code="78701")
    lone = Person.from_raw("Torres", None, phones=["512 555 0100"])
    match = score(lone, on_file)
    assert (match.outcome("first_name"), match.outcome("last_name"), match.rule) == (None, "exact", "unconfirmed")
    assert decide(match) is Decision.REVIEW
    # A lone first name at a shared phone is still another adult of the household.
    assert score(Person.from_raw("Maria", None, phones=["512 555 0100"]), on_file).rule == "household"


def test_a_shared_phone_or_email_says_more_than_a_shared_address_and_that_more_than_a_name_key() -> None:
    keys = sorted(
        match_keys(
            Person.from_raw("Ana", "Lopez", phones=["512-555-0100"], street="1 Elm St", unit="4", postal_code="78701")
        )
    )
    by_kind = {key.split(":", 1)[0]: key_strength(key) for key in keys}
    assert by_kind["p"] > by_kind["a"] > by_kind["n"] == 1
