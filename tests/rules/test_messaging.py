"""The messaging section: who texts come from is checked when the file is read, not on the first send."""

from __future__ import annotations

import textwrap

import pytest

from fieldrelay.rules.loader import ConfigError, parse_settings


def problem_text(text: str) -> tuple[str, str]:
    """The path and message of the single problem parse_settings reports for ``text``."""
    with pytest.raises(ConfigError) as info:
        parse_settings(textwrap.dedent(text).lstrip("\n"), "shop.yaml")
    assert len(info.value.problems) == 1, info.value.problems
    problem = info.value.problems[0]
    return problem.path, problem.message


def test_twilio_chosen_without_a_sender_is_refused() -> None:
    path, message = problem_text(
        """
        business:
          name: X
        messaging:
          sms_provider: twilio
        """
    )
    assert path.startswith("messaging")
    assert "needs messaging.twilio.from_number" in message


def test_twilio_with_both_a_number_and_a_service_is_refused() -> None:
    path, message = problem_text(
        """
        business:
          name: X
        messaging:
          sms_provider: twilio
          twilio:
            from_number: "+15005550006"
            messaging_service_sid: MG00000000000000000000000000000000
        """
    )
    assert path.startswith("messaging.twilio")
    assert "only one of from_number and messaging_service_sid" in message


@pytest.mark.parametrize("sender", ['from_number: "+15005550006"', "messaging_service_sid: MG0000"])
def test_twilio_with_one_sender_is_accepted(sender: str) -> None:
    settings = parse_settings(f"business:\n  name: X\nmessaging:\n  sms_provider: twilio\n  twilio:\n    {sender}\n")
    assert settings.messaging.sms_provider == "twilio"


def test_the_development_providers_need_no_sender() -> None:
    settings = parse_settings("business:\n  name: X\n")
    assert (settings.messaging.sms_provider, settings.messaging.email_provider) == ("devsms", "devmail")
