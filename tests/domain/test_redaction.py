"""One redaction for logs, stored error texts and API error fields: what it hides and what it keeps."""

from __future__ import annotations

import pytest

from fieldrelay.domain.redaction import redact


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("reply from +15125550142", "+15125550142"),
        ("call (512) 555-0142 now", "555-0142"),
        ("call 512.555.0142", "512.555.0142"),
        ("to +447911123456", "+447911123456"),
        ("bounced: Pat.Doe+x@Example.co.uk", "Pat.Doe+x@Example.co.uk"),
        ("lives at 4821 Bluebonnet Ln, Austin", "Bluebonnet"),
        ("[SQL: INSERT INTO customers]\n[parameters: {'first_name': 'Keisha', 'street': '77 Rainey'}]", "Keisha"),
        ("DETAIL:  Key (email)=(keisha@example.net) already exists.", "keisha"),
        ("Failing row contains (c1, Keisha, Brown, null).", "Keisha"),
        ("Input should be a valid string [type=string_type, input_value=['Keisha Brown'], input_type=list]", "Keisha"),
    ],
)
def test_personal_data_is_hidden(text: str, hidden: str) -> None:
    assert hidden not in redact(text)


@pytest.mark.parametrize(
    "text",
    [
        "occurred_at 0001-01-01T00:00:00+14:00 is out of range",
        "inbox 12345 lease lost by host:4242:abc123",
        "unexpected Stripe event: data.object.amount is not an integer",
        "charge ch_1PgafuB7WZ01zgkWXYmPNZs8 refunded",
        "total_cents is out of range (more than 15 digits)",
    ],
)
def test_what_is_not_personal_is_kept(text: str) -> None:
    assert redact(text) == text
