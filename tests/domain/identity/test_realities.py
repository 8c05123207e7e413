"""How homeowners really arrive: "Jane S." from a marketplace, "SMITH, JANE" from an export, masked phones and relay
emails, a work number, a move, a ZIP code alone, a mistyped house number, a nickname only a fuller table knows.

Each rule has its positive case and the hard negatives it must not merge: spouses sharing the address and landline,
father and son of one name, the same name in another town, different people behind one call-tracking number.
"""

from __future__ import annotations

from fieldrelay.domain.identity.channels import is_marketplace, is_relay_email
from fieldrelay.domain.identity.keys import name_order, nickname_compatible
from fieldrelay.domain.identity.match import Decision, Matcher, Person, match_keys, score
from tests.domain.identity.test_match import ROBERT, decision, variant

HOME = {"street": "42 Cedar Lane", "city": "Austin", "state": "TX", "postal_code": "78704"}
LANDLINE = "512-555-0110"
JANE = Person.from_raw("Jane", "Smith", phones=["737-555-0101", LANDLINE], emails=["jane.smith@gmail.com"], **HOME)
JOHN = Person.from_raw("John", "Smith", phones=["737-555-0199", LANDLINE], emails=["jsmith@yahoo.com"], **HOME)


def lead(first: str | None, last: str | None, source: str = "Thumbtack", **details: object) -> Person:
    """A marketplace lead: the phone a masked number, the email a relay, unless given."""
    fields: dict[str, object] = {"phones": ["512-555-0177"], "emails": ["k2j4h5@messaging.yelp.com"]}
    fields.update(details)
    return Person.from_raw(first, last, lead_source=source, **fields)  # type: ignore[arg-type]


# --- channels ---------------------------------------------------------------------------------------------------------


def test_marketplaces_are_known_by_lead_source_and_relays_by_address() -> None:
    assert all(map(is_marketplace, ["Thumbtack", "yelp", "Google Local Services Ads", "Google LSA", "HomeAdvisor"]))
    assert not any(map(is_marketplace, ["Google", "Referral", "Website", None, ""]))
    assert is_relay_email("a1b2c3@messaging.yelp.com") and is_relay_email("x9@reply.craigslist.org")
    assert is_relay_email("lead-77@relay.example-market.com")
    assert not is_relay_email("jane.smith@gmail.com") and not is_relay_email("owner@yelpington.net")


# --- surname as an initial --------------------------------------------------------------------------------------------


def test_a_surname_initial_with_the_real_phone_merges() -> None:
    jane_s = Person.from_raw("Jane", "S.", phones=["737-555-0101"], postal_code="78704")
    assert score(JANE, jane_s).outcome("last_name") == "initial"
    assert decision(JANE, jane_s) is Decision.MERGE
    assert "g:jane|s|78704" in match_keys(JANE) & match_keys(jane_s)


def test_a_surname_initial_is_not_a_different_letter_and_spouses_stay_apart() -> None:
    assert score(JANE, Person.from_raw("Jane", "T.", postal_code="78704")).outcome("last_name") == "different"
    # John S. on the shared landline is John, not Jane: the household rule holds with an initial too.
    john_s = Person.from_raw("John", "S.", phones=[LANDLINE], postal_code="78704")
    assert decision(JANE, john_s) is Decision.DISTINCT
    assert decision(JOHN, john_s) is Decision.MERGE


def test_an_initial_alone_with_only_the_zip_goes_to_a_person_not_a_merge() -> None:
    assert decision(JANE, lead("Jane", "S.", postal_code="78704")) is Decision.REVIEW


# --- name order -------------------------------------------------------------------------------------------------------


def test_last_comma_first_in_one_box_is_read_as_the_name() -> None:
    assert name_order("SMITH, JANE", None) == ("JANE", "SMITH")
    assert name_order(None, "Smith, Jane") == ("Jane", "Smith")
    assert name_order("Jane Smith", None) == ("Jane", "Smith")
    assert name_order(None, "Smith, Jr") == (None, "Smith  Jr")  # a suffix after the comma is no first name
    export = Person.from_raw("SMITH, JANE", None, phones=["737-555-0101"], **HOME)
    assert decision(JANE, export) is Decision.MERGE
    # The same order with a nickname: "SMITH, JIM" is James.
    james = Person.from_raw("James", "Smith", phones=["737-555-0123"], **HOME)
    assert decision(james, Person.from_raw(None, "SMITH, JIM", phones=["737-555-0123"])) is Decision.MERGE


def test_swapped_boxes_with_a_nickname_still_read_as_one_name_and_spouses_do_not() -> None:
    robert = variant()
    swapped = variant(first_name="Smith", last_name="Bob")
    assert score(robert, swapped).outcome("first_name") == "swapped"
    assert decision(JANE, Person.from_raw("Smith", "John", phones=[LANDLINE], **HOME)) is Decision.DISTINCT
    # The son's "Jr" typed into the first box with his surname still tells him from his father.
    father = Person.from_raw("Juan", "Mendez", phones=["830-555-0162"], **HOME)
    son = Person.from_raw("Mendez Jr", "Juan", phones=["737-555-0117"], **HOME)
    assert score(father, son).outcome("first_name") == "swapped"
    assert decision(father, son) is not Decision.MERGE


# --- masked phones and relay emails ---------------------------------------------------------------------------------


def test_a_masked_number_neither_confirms_nor_refutes() -> None:
    masked = lead("Jane", "Smith", emails=[], **HOME)
    # The lead's number is the marketplace's: not "a different phone" against Jane's own.
    assert score(JANE, masked).outcome("phone") is None
    assert decision(JANE, masked) is Decision.MERGE  # full name and the address with nothing against


def test_a_shared_tracking_number_does_not_make_two_people_one() -> None:
    tracking = "830-555-0150"
    first = lead("Maria", "Lopez", phones=[tracking], emails=[], postal_code="78704")
    other = lead("Mark", "Lee", phones=[tracking], emails=[], postal_code="78704")
    assert score(first, other).outcome("phone") == "proxy_shared"
    assert decision(first, other) is Decision.DISTINCT
    same_initial = lead("Maria", "L.", phones=[tracking], emails=[], postal_code="78704")
    assert decision(first, same_initial) is not Decision.MERGE  # "Maria L." via one tracking line: a person looks


def test_a_marketplace_lead_with_the_homeowners_own_number_counts_as_sharing_it() -> None:
    # "Jane S." from Thumbtack with the mobile Jane gave on a form: the lead passed on her real number, not a mask.
    jane_s = lead("Jane", "S.", phones=["737-555-0101"], emails=[], postal_code="78704")
    assert score(JANE, jane_s).outcome("phone") == "shared"
    assert decision(JANE, jane_s) is Decision.MERGE
    # The spouse's lead on the shared landline is the spouse: the household rule sees the landline as a link.
    john_s = lead("John", "S.", phones=[LANDLINE], emails=[], postal_code="78704")
    assert decision(JANE, john_s) is Decision.DISTINCT
    matcher: Matcher[str] = Matcher()
    matcher.add("jane", JANE)
    matcher.add("john", JOHN)
    found = {c.id: c.decision for c in matcher.candidates(john_s)}
    assert found == {"john": Decision.MERGE, "jane": Decision.DISTINCT}
    # Two leads through one marketplace number are still two masks: neither is anybody's own.
    assert score(jane_s, lead("Jane", "S.", phones=["737-555-0101"], postal_code="78704")).outcome("phone") == (
        "proxy_shared"
    )


def test_a_relay_email_is_weak_both_ways() -> None:
    relay = "q7w8e9@messaging.yelp.com"
    jane_lead = lead("Jane", "S.", emails=[relay], phones=[], postal_code="78704")
    # Jane's own address differs from the relay: that says nothing against her.
    assert score(JANE, jane_lead).outcome("email") is None
    again = lead("Jane", "S.", emails=[relay], phones=[], postal_code="78704")
    assert score(jane_lead, again).outcome("email") == "relay_shared"


# --- name plus any shared contact, a work number, a move -----------------------------------------------------------


def test_full_name_and_address_with_another_number_is_reviewed_and_with_the_email_merged() -> None:
    work = Person.from_raw("Jane", "Smith", phones=["512-555-0400"], **HOME)
    # A father and son of one name at one address look the same: a person decides, it is not dropped.
    assert decision(JANE, work) is Decision.REVIEW
    assert decision(
        JANE, Person.from_raw("Jane", "Smith", phones=["512-555-0400"], emails=["jane.smith@gmail.com"])
    ) is (Decision.MERGE)
    senior = Person.from_raw("Robert", "Hale", phones=["512-555-0301"], **HOME)
    junior = Person.from_raw("Robert", "Hale Jr", phones=["512-555-0302"], **HOME)
    assert decision(senior, junior) is Decision.REVIEW  # "Jr" on one record only: which of two, a person says
    assert decision(Person.from_raw("Robert", "Hale Sr", **HOME), junior) is Decision.DISTINCT
    # A third record "Robert Hale" on the son's phone: fits the father by name and the son by phone; a person decides.
    matcher: Matcher[str] = Matcher()
    matcher.add("senior", senior)
    matcher.add("junior", junior)
    found = matcher.candidates(Person.from_raw("Robert", "Hale", phones=["512-555-0302"], **HOME))
    assert found and all(c.decision is not Decision.MERGE for c in found)


def test_a_moved_homeowner_with_the_same_phone_merges_and_a_namesake_elsewhere_does_not() -> None:
    moved = variant(street="900 Elm Street", city="Round Rock", postal_code="78664", emails=["bob.s@yahoo.com"])
    assert score(ROBERT, moved).outcome("address") == "moved"  # the shared phone says the other address is a move
    assert decision(ROBERT, moved) is Decision.MERGE
    namesake = variant(phones=["214-555-0188"], emails=[], street="900 Elm Street", city="Dallas", postal_code="75201")
    assert decision(ROBERT, namesake) is Decision.DISTINCT


def test_a_record_without_a_first_name_is_confirmed_by_a_shared_mailbox_that_names_the_adult() -> None:
    nameless = Person.from_raw(None, "Smith", phones=[LANDLINE], emails=["Jane.Smith@gmail.com"], postal_code="78704")
    assert score(JANE, nameless).rule is None
    assert decision(JANE, nameless) is Decision.MERGE
    # John shares the landline but not Jane's mailbox: which adult it is stays with a person, never John.
    assert decision(JOHN, nameless) is not Decision.MERGE
    # A family mailbox names nobody: the record stays unconfirmed against either spouse.
    family = "thesmithfamily@gmail.com"
    jane = Person.from_raw("Jane", "Smith", phones=[LANDLINE], emails=[family], **HOME)
    unnamed = Person.from_raw(None, "Smith", phones=[LANDLINE], emails=[family], **HOME)
    assert score(jane, unnamed).rule == "unconfirmed" and decision(jane, unnamed) is Decision.REVIEW
    # Nor does a mailbox of the other name: "J. Smith" at john.smith@ is not confirmed as Jane by it.
    j_smith = Person.from_raw("J.", "Smith", emails=["john.smith@gmail.com"], **HOME)
    jane_john = Person.from_raw("Jane", "Smith", emails=["john.smith@gmail.com"], **HOME)
    assert score(jane_john, j_smith).rule == "unconfirmed"


def test_twins_of_one_surname_stay_two_people_through_the_lead_move_and_mailbox_rules() -> None:
    new_home = {"street": "900 Elm Street", "city": "Round Rock", "state": "TX", "postal_code": "78664"}
    mark = Person.from_raw("Mark", "Hale", phones=[LANDLINE], emails=["markhale@gmail.com"], **HOME)
    # Mike's marketplace lead on the home landline, Mike moved out with it, Mike without a first name on Mark's mailbox.
    assert decision(mark, lead("Mike", "H.", phones=[LANDLINE], emails=[], postal_code="78704")) is Decision.DISTINCT
    assert decision(mark, Person.from_raw("Mike", "Hale", phones=[LANDLINE], **new_home)) is Decision.DISTINCT
    mike = Person.from_raw("Mike", "Hale", phones=[LANDLINE], emails=["markhale@gmail.com"], **HOME)
    assert score(mike, Person.from_raw(None, "Hale", emails=["markhale@gmail.com"], **HOME)).rule == "unconfirmed"


def test_a_moved_homeowner_with_a_slip_in_the_name_merges_on_the_shared_phone_and_the_household_does_not() -> None:
    new_home = {"street": "900 Elm Street", "city": "Round Rock", "state": "TX", "postal_code": "78664"}
    moved = Person.from_raw("Jnae", "Smith", phones=["737-555-0101"], **new_home)
    assert score(JANE, moved).outcome("address") == "moved"
    assert decision(JANE, moved) is Decision.MERGE
    # "Jane S." with her phone and only the new ZIP code: the other ZIP is the move too.
    assert decision(JANE, Person.from_raw("Jane", "S.", phones=["737-555-0101"], postal_code="78664")) is (
        Decision.MERGE
    )
    # The spouse who moved out still shares the family email: two first names, two people.
    family = Person.from_raw("Jane", "Smith", emails=["thesmithfamily@gmail.com"], **HOME)
    john = Person.from_raw("John", "Smith", emails=["thesmithfamily@gmail.com"], **new_home)
    assert score(family, john).outcome("address") == "different"
    assert decision(family, john) is Decision.DISTINCT
    # The son at his own place, on the family landline: "Jr" on one record only stays with a person.
    senior = Person.from_raw("Robert", "Hale", phones=[LANDLINE], **HOME)
    assert decision(senior, Person.from_raw("Robert", "Hale Jr", phones=[LANDLINE], **new_home)) is not (Decision.MERGE)
    # The same name elsewhere with nothing shared is a namesake, not a move.
    assert score(JANE, Person.from_raw("Jane", "Smith", phones=["214-555-0100"], **new_home)).outcome("address") == (
        "different"
    )


# --- ZIP only, house-number typos -------------------------------------------------------------------------------------


def test_zip_only_with_a_shared_phone_merges_and_with_nothing_else_goes_to_review() -> None:
    zip_only = Person.from_raw("Jane", "Smith", phones=["737-555-0101"], postal_code="78704")
    assert decision(JANE, zip_only) is Decision.MERGE
    assert decision(JANE, Person.from_raw("Jane", "Smith", postal_code="78704")) is Decision.REVIEW
    assert decision(JANE, Person.from_raw("Jane", "Smith", postal_code="75201")) is Decision.DISTINCT


def test_a_house_number_one_keystroke_off_is_a_typo_and_next_door_is_not() -> None:
    typo = Person.from_raw("Jane", "Smith", **{**HOME, "street": "24 Cedar Lane"})
    assert score(JANE, typo).outcome("address") == "number_typo"
    assert decision(JANE, typo) is Decision.REVIEW  # the name and a near address alone: a person looks
    with_phone = Person.from_raw("Jane", "Smith", phones=["737-555-0101"], **{**HOME, "street": "43 Cedar Lane"})
    assert decision(JANE, with_phone) is Decision.MERGE
    assert "t:cedarln||78704|S530" in match_keys(JANE) & match_keys(typo)
    # The spouse at a mistyped number is still the spouse: the household rule sees the near address as a link.
    assert decision(JANE, Person.from_raw("John", "Smith", phones=[LANDLINE], **{**HOME, "street": "24 Cedar Ln"})) is (
        Decision.DISTINCT
    )
    assert (
        score(JANE, Person.from_raw("Jane", "Smith", **{**HOME, "street": "4 Cedar Lane"})).outcome("address")
        == "different"
    )  # one digit numbers: no room for a typo


# --- nicknames --------------------------------------------------------------------------------------------------------


def test_the_nickname_dataset_links_a_nickname_to_its_formal_names_only() -> None:
    assert nickname_compatible("max", "maximilian") and nickname_compatible("maximilian", "max")
    assert nickname_compatible("gabe", "gabriel")
    assert not nickname_compatible("maximilian", "maxwell")  # two formal names are two people
    assert not nickname_compatible("patrick", "patricia")
    max_ = Person.from_raw("Max", "Vogel", phones=["512-555-0155"], **HOME)
    assert decision(Person.from_raw("Maximilian", "Vogel", phones=["512-555-0155"], **HOME), max_) is Decision.MERGE


def test_spouses_sharing_the_address_and_landline_stay_two_people() -> None:
    assert decision(JANE, JOHN) is Decision.DISTINCT
    matcher: Matcher[str] = Matcher()
    matcher.add("jane", JANE)
    matcher.add("john", JOHN)
    found = {c.id: c.decision for c in matcher.candidates(Person.from_raw("Jane", "Smith", phones=[LANDLINE]))}
    assert found["jane"] is Decision.MERGE and found["john"] is Decision.DISTINCT
