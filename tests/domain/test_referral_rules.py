"""Pure referral rules: codes from the unambiguous alphabet, code normalisation, and each fraud check."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from fieldrelay.domain import referral_rules as rules

T0 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
PAT = rules.Party(["+15125550142"], ["pat@example.com"], "Doe", "12 Oak St", "78701")


def test_codes_use_only_the_unambiguous_alphabet() -> None:
    seeded = random.Random(7)
    codes = {rules.new_code(seeded.choice) for _ in range(500)}
    assert all(len(c) == 6 and not set(c) & set("0O1I") for c in codes)
    assert len(codes) == 500


def test_a_code_is_read_from_what_people_type_or_the_link() -> None:
    assert rules.normalize_code(" abc-234 ") == "ABC234"
    assert rules.normalize_code("https://example.com/r/ABC234/") == "ABC234"


def test_self_referral_by_phone_email_address_and_household() -> None:
    other = rules.Party(["+17375550123"], ["sam@example.com"], "Lee", "400 Elm Ave", "78702")
    assert rules.self_referral_reasons(PAT, other) == []
    same_phone = rules.Party(["+15125550142"], [], "Lee", None, None)
    assert rules.self_referral_reasons(PAT, same_phone) == ["same phone as the referrer"]
    same_email = rules.Party([], ["PAT@example.com"], None, None, None)
    assert rules.self_referral_reasons(PAT, same_email) == ["same email as the referrer"]
    same_street = rules.Party([], [], "Lee", "12 OAK ST.", "78701")
    assert rules.self_referral_reasons(PAT, same_street) == ["same address as the referrer"]
    household = rules.Party([], [], "doe", "9 Pine Rd", "78701")
    assert rules.self_referral_reasons(PAT, household) == ["same household (last name and postal code) as the referrer"]
    elsewhere = rules.Party([], [], "Doe", "12 Oak St", "10001")
    assert rules.self_referral_reasons(PAT, elsewhere) == []


def test_too_many_counts_this_referral_against_the_limit() -> None:
    assert not rules.too_many(5, 5)
    assert rules.too_many(6, 5)


def test_too_fast_compares_the_time_to_the_milestone() -> None:
    assert rules.too_fast(T0, T0 + timedelta(hours=20), 1)
    assert not rules.too_fast(T0, T0 + timedelta(days=1), 1)
    assert not rules.too_fast(T0, T0, 0)


def test_milestones_are_ordered_booked_completed_paid() -> None:
    assert rules.reaches("dispatched", "booked") and not rules.reaches("dispatched", "completed")
    assert rules.reaches("invoiced", "completed") and not rules.reaches("invoiced", "paid")
    assert rules.reaches("paid", "paid") and not rules.reaches("cancelled", "booked")
