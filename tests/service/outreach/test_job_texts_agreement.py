"""Agreement: the job texts a field-mapping row can trigger (rules/mapping.py ``ACTIONS``), their settings
(rules/texts.py ``JobTexts``) and what sends them (service/outreach/job_texts.py ``TEXTS``)."""

from __future__ import annotations

import ast
from pathlib import Path

import fieldrelay
from fieldrelay.rules.mapping import ACTIONS
from fieldrelay.rules.texts import JobTexts
from fieldrelay.service.outreach.job_texts import TEXTS


def test_every_job_text_is_an_action_the_rules_accept() -> None:
    stray = sorted(set(TEXTS) - set(ACTIONS))
    assert not stray, f"service/outreach/job_texts.py TEXTS has {stray}, which rules/mapping.py ACTIONS refuses"


def settings_read_by_name() -> set[str]:
    """The JobTexts settings fieldrelay's source reads by name: ``….job_texts.<name>`` anywhere in the package."""
    found: set[str] = set()
    for path in Path(fieldrelay.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "job_texts"
            ):
                found.add(node.attr)
    return found


def test_every_job_text_has_its_settings() -> None:
    """job_texts.py reads a text's delay and template as ``getattr(settings.job_texts, action)``."""
    missing = sorted(set(TEXTS) - set(JobTexts.model_fields))
    assert not missing, f"job texts {missing} (service/outreach/job_texts.py TEXTS) have no settings in rules/texts.py"


def test_every_job_texts_setting_is_read() -> None:
    """A setting in rules/texts.py JobTexts that no code reads is one a shop changes to no effect."""
    read = set(TEXTS) | settings_read_by_name()
    assert "confirmation_text" in read, "the check found nothing read"
    unread = sorted(set(JobTexts.model_fields) - read)
    assert not unread, (
        f"rules/texts.py JobTexts has {unread}, which neither service/outreach/job_texts.py TEXTS sends nor any "
        "code reads as settings.job_texts.<name>"
    )


def test_a_job_text_still_makes_sense_in_the_status_its_trigger_leaves() -> None:
    """A text is cancelled when due unless the job stands in one of its statuses: the triggering event's must be one."""
    problems = [
        f"{action!r} may follow {event} (rules/mapping.py ACTIONS), but job_texts.TEXTS only sends it in "
        f"{sorted(str(status) for status in statuses)}: it would always be cancelled"
        for action, (statuses, _) in TEXTS.items()
        for event in sorted(ACTIONS.get(action, ()))
        if event.removeprefix("job.") not in statuses
    ]
    assert not problems, "\n".join(problems)
