"""The field-mapping table, the deal pipeline, identity thresholds and equipment rules as `fieldrelay check` sees them.

Every problem must name the line of fieldrelay.yaml it is on and the path of the setting, in words a shop owner
can act on; several problems are reported together.
"""

from __future__ import annotations

import textwrap
from typing import get_args

import pytest

from fieldrelay.rules.config import Settings
from fieldrelay.rules.loader import DEFAULT_YAML, ConfigError, ConfigProblem, load_settings, parse_settings
from fieldrelay.rules.mapping import (
    ACTIONS,
    CRM_FIELDS,
    DEFAULT_FIELD_MAPPING,
    MAPPED_EVENTS,
    NOT_SCALAR,
    TAG_SOURCES,
    VALUE_SOURCES,
    Action,
    FieldMapping,
    MappingRow,
    check_row,
)
from fieldrelay.rules.pipeline import Pipeline

HEAD = "business:\n  name: Rapid Rooter Plumbing\n"


def problems_of(text: str) -> list[ConfigProblem]:
    """The problems parse_settings reports for ``text`` (which must be invalid)."""
    with pytest.raises(ConfigError) as info:
        parse_settings(textwrap.dedent(text).lstrip("\n"), "shop.yaml")
    assert info.value.problems
    return info.value.problems


def only_problem(text: str) -> ConfigProblem:
    """The single problem reported for ``text``."""
    problems = problems_of(text)
    assert len(problems) == 1, problems
    return problems[0]


def as_dicts(mapping: FieldMapping) -> dict[str, dict[str, object]]:
    """The table as plain data, rows with neither writes nor triggers spelt out in full."""
    return {event: row.model_dump() for event, row in mapping.rows.items()}


# --- the default table ---------------------------------------------------------------------------------------------


def test_the_default_table_loads_with_every_row_of_the_playbook() -> None:
    mapping = FieldMapping.model_validate(DEFAULT_FIELD_MAPPING)

    expected = {
        event: {
            "write": dict(row.get("write", {})),  # type: ignore[call-overload]
            "trigger": list(row.get("trigger", [])),  # type: ignore[call-overload]
            "never_clear": list(row.get("never_clear", [])),  # type: ignore[call-overload]
        }
        for event, row in DEFAULT_FIELD_MAPPING.items()
    }
    assert as_dicts(mapping) == expected
    assert mapping.never_clear == {"interested_in"}
    assert list(mapping.rows) == list(DEFAULT_FIELD_MAPPING)
    assert mapping.row("job.booked") == MappingRow(
        write={"next_appointment_at": "customer.next_appointment_at", "service_type": "job.service_type"},
        trigger=["confirmation_text"],
    )


def test_every_default_row_passes_its_own_check() -> None:
    for event, row in FieldMapping.model_validate(DEFAULT_FIELD_MAPPING).rows.items():
        assert event in MAPPED_EVENTS
        assert check_row(event, row) == [], event


def test_a_file_without_a_field_mapping_section_gets_the_default_table() -> None:
    settings = parse_settings(HEAD)
    assert settings.field_mapping == FieldMapping.model_validate(DEFAULT_FIELD_MAPPING)
    assert settings.field_mapping == Settings.model_validate({"business": {"name": "X"}}).field_mapping
    packaged = parse_settings(DEFAULT_YAML.read_text(encoding="utf-8"))
    assert as_dicts(packaged.field_mapping) == as_dicts(settings.field_mapping)


def test_an_event_without_a_row_writes_nothing_and_triggers_nothing() -> None:
    mapping = FieldMapping.model_validate(DEFAULT_FIELD_MAPPING)
    for event in ("job.arrived", "estimate.declined"):
        assert event not in mapping.rows
        assert mapping.row(event) == MappingRow(write={}, trigger=[])


def test_a_shops_own_table_replaces_the_default_as_a_whole() -> None:
    settings = parse_settings(
        HEAD
        + textwrap.dedent(
            """\
            field_mapping:
              job.paid:
                write:
                  tags: "text:vip"
                  service_type: "text:Maintenance plan"
                trigger: [review_request]
            """
        )
    )
    assert as_dicts(settings.field_mapping) == {
        "job.paid": {
            "write": {"tags": "text:vip", "service_type": "text:Maintenance plan"},
            "trigger": ["review_request"],
            "never_clear": [],
        }
    }
    # Not merged with the default: the rows the shop left out are gone, not inherited.
    assert settings.field_mapping.row("job.booked") == MappingRow()
    assert settings.field_mapping.row("job.invoiced").trigger == []


def test_an_empty_field_mapping_section_turns_every_row_off() -> None:
    settings = parse_settings(HEAD + "field_mapping: {}\n")
    assert settings.field_mapping.rows == {}


# --- one problem of each kind, with its line and path --------------------------------------------------------------


def mapping_yaml(event: str, body: str) -> str:
    """A file whose field_mapping has a valid booked row (lines 3-6), then ``event`` at line 7 with ``body``."""
    return (
        HEAD
        + "field_mapping:\n"  # line 3
        + "  job.booked:\n"  # line 4
        + "    write:\n"  # line 5
        + "      next_appointment_at: job.scheduled_start\n"  # line 6
        + f"  {event}:\n"  # line 7
        + textwrap.indent(textwrap.dedent(body), "    ")
    )


@pytest.mark.parametrize(
    ("event", "body", "line", "path", "message"),
    [
        pytest.param(
            "job.bookd",
            "write:\n  service_type: job.service_type\n",
            7,
            "field_mapping.job.bookd",
            "unknown event (known: job.booked, job.rescheduled,",
            id="unknown-event",
        ),
        pytest.param(
            "job.paid",
            "write:\n  last_paid_at: event.occurred_at\n  colour: text:red\n",
            10,
            "field_mapping.job.paid.write.colour",
            "unknown CRM field (known: account_status, assigned_technician,",
            id="unknown-crm-field",
        ),
        pytest.param(
            "job.paid",
            "write:\n  last_paid_at: event.paid_at\n",
            9,
            "field_mapping.job.paid.write.last_paid_at",
            "unknown value source 'event.paid_at' (known: customer.next_appointment_at, customer.open_balance_cents,",
            id="unknown-source",
        ),
        pytest.param(
            "job.paid",
            "write:\n  last_cancellation_reason: event.reason\n",
            9,
            "field_mapping.job.paid.write.last_cancellation_reason",
            "job.paid does not carry event.reason",
            id="source-the-event-does-not-carry",
        ),
        pytest.param(
            "estimate.sent",
            "write:\n  balance_cents: estimate.total_cents\n",
            9,
            "field_mapping.estimate.sent.write.balance_cents",
            "takes customer.open_balance_cents or event.amount_cents or job.balance_cents or job.total_cents,"
            " not estimate.total_cents",
            id="field-refuses-the-source",
        ),
        pytest.param(
            "job.rescheduled",
            "write:\n  next_appointment_at: text:tomorrow\n",
            9,
            "field_mapping.job.rescheduled.write.next_appointment_at",
            "takes a value from the event, not a literal",
            id="literal-for-a-non-literal-field",
        ),
        pytest.param(
            "job.paid",
            "write:\n  account_status: 'text:   '\n",
            9,
            "field_mapping.job.paid.write.account_status",
            "the literal after 'text:' is empty",
            id="empty-literal",
        ),
        pytest.param(
            "job.completed",
            "trigger:\n  - review_request\n",
            9,
            "field_mapping.job.completed.trigger.0",
            "review_request cannot follow job.completed (it follows job.paid)",
            id="action-that-cannot-follow-the-event",
        ),
        pytest.param(
            "job.dispatched",
            "trigger:\n  - eta_text\n  - eta_text\n  - confirmation_text\n",
            11,
            "field_mapping.job.dispatched.trigger.2",
            "confirmation_text cannot follow job.dispatched (it follows job.booked, job.rescheduled)",
            id="trigger-index-names-the-item",
        ),
    ],
)
def test_each_kind_of_mapping_problem_names_its_line_and_path(
    event: str, body: str, line: int, path: str, message: str
) -> None:
    problem = only_problem(mapping_yaml(event, body))
    assert (problem.line, problem.path) == (line, path), problem
    assert message in problem.message
    assert str(problem).startswith(f"line {line}: {path}: ")


def test_a_source_the_field_accepts_for_another_event_is_named_for_this_event() -> None:
    # event.amount_cents is a source balance_cents accepts, but job.dispatched does not carry it.
    problem = only_problem(mapping_yaml("job.dispatched", "write:\n  balance_cents: event.amount_cents\n"))
    assert (problem.line, problem.path) == (9, "field_mapping.job.dispatched.write.balance_cents")
    assert problem.message == "job.dispatched does not carry event.amount_cents"


def test_a_literal_is_accepted_by_a_free_text_field_and_by_tags() -> None:
    settings = parse_settings(
        mapping_yaml("job.paid", "write:\n  account_status: 'text:paid up'\n  tags: text:closed-won\n")
    )
    assert settings.field_mapping.row("job.paid").write == {"account_status": "text:paid up", "tags": "text:closed-won"}


@pytest.mark.parametrize("field", sorted(name for name, accepted in CRM_FIELDS.items() if accepted is None))
@pytest.mark.parametrize("source", sorted(NOT_SCALAR))
def test_a_field_that_takes_one_value_refuses_the_whole_job_and_lists(field: str, source: str) -> None:
    problem = only_problem(mapping_yaml("job.completed", f"write:\n  {field}: {source}\n"))
    assert (problem.line, problem.path) == (9, f"field_mapping.job.completed.write.{field}")
    assert problem.message == f"{field} takes one value (words, a number or a time), not {source}: {NOT_SCALAR[source]}"


def test_the_scalar_fields_take_every_other_source_of_the_event() -> None:
    for name in ("service_type", "account_status", "interested_in"):
        for source, carriers in VALUE_SOURCES.items():
            if "job.paid" in carriers and source not in NOT_SCALAR:
                assert check_row("job.paid", MappingRow(write={name: source})) == [], (name, source)


@pytest.mark.parametrize(
    "source",
    [
        "customer.open_balance_cents",
        "customer.next_appointment_at",
        "event.occurred_at",
        "event.amount_cents",
        "job.total_cents",
        "job.scheduled_start",
        "job.description",
    ],
)
def test_tags_refuse_a_figure_a_time_or_free_text(source: str) -> None:
    problem = only_problem(mapping_yaml("job.paid", f"write:\n  tags: {source}\n"))
    assert (problem.line, problem.path) == (9, "field_mapping.job.paid.write.tags")
    assert problem.message.startswith(
        f"tags takes text:<words> or job.service_type or lead.channel or lead.service, not {source}: a tag is a label "
        "that is never removed"
    )


def test_tags_refuse_none_because_a_tag_is_never_removed() -> None:
    problem = only_problem(mapping_yaml("job.cancelled", "write:\n  tags: none\n"))
    assert (problem.line, problem.path) == (9, "field_mapping.job.cancelled.write.tags")
    assert problem.message.startswith("tags are only ever added, never removed: 'none' clears nothing")


def test_tags_take_a_literal_the_kind_of_work_and_what_a_lead_asked_for_and_came_through() -> None:
    settings = parse_settings(
        mapping_yaml("job.paid", "write:\n  tags: job.service_type\n")
        + "  lead.received:\n    write: {tags: lead.channel}\n  estimate.sent:\n    write: {tags: 'text:quoted'}\n"
    )
    assert settings.field_mapping.row("job.paid").write == {"tags": "job.service_type"}
    assert settings.field_mapping.row("lead.received").write == {"tags": "lead.channel"}
    assert check_row("lead.received", MappingRow(write={"tags": "lead.service"})) == []
    assert not TAG_SOURCES - set(VALUE_SOURCES)


def test_a_problem_in_one_row_does_not_hide_the_rows_after_it() -> None:
    problems = problems_of(
        HEAD
        + textwrap.dedent(
            """\
            field_mapping:
              job.bookd:
                write: {service_type: job.service_type}
              job.paid:
                write:
                  colour: text:red
                  account_status: event.amount
                  last_paid_at: event.reason
                  balance_cents: event.occurred_at
                  next_appointment_at: text:soon
                  interested_in: "text:  "
                trigger: [review_request, eta_text]
              lead.received:
                write:
                  interested_in: lead.service
                  last_estimate_total_cents: estimate.total_cents
            """
        )
    )
    assert [(p.line, p.path) for p in problems] == [
        (4, "field_mapping.job.bookd"),
        (8, "field_mapping.job.paid.write.colour"),
        (9, "field_mapping.job.paid.write.account_status"),
        (10, "field_mapping.job.paid.write.last_paid_at"),
        (11, "field_mapping.job.paid.write.balance_cents"),
        (12, "field_mapping.job.paid.write.next_appointment_at"),
        (13, "field_mapping.job.paid.write.interested_in"),
        (14, "field_mapping.job.paid.trigger.1"),
        (18, "field_mapping.lead.received.write.last_estimate_total_cents"),
    ]
    assert problems[-1].message == "lead.received does not carry estimate.total_cents"


@pytest.mark.parametrize(
    ("row", "line", "path", "message"),
    [
        pytest.param(
            "write:\n  last_paid_at: event.occurred_at\ntrigger:\n  - review_request\n  - send_flowers\n",
            12,
            "field_mapping.job.paid.trigger.1",
            "Input should be 'confirmation_text'",
            id="unknown-action",
        ),
        pytest.param(
            "writes:\n  last_paid_at: event.occurred_at\n",
            8,
            "field_mapping.job.paid.writes",
            "Extra inputs are not permitted",
            id="misspelt-row-key",
        ),
    ],
)
def test_a_problem_pydantic_finds_inside_a_row_names_its_own_line(row: str, line: int, path: str, message: str) -> None:
    problem = only_problem(mapping_yaml("job.paid", row))
    assert (problem.line, problem.path) == (line, path), problem
    assert message in problem.message


# --- the pipeline --------------------------------------------------------------------------------------------------

DEFAULT_STAGES = [
    ("new_lead", "New lead", "open"),
    ("scheduled", "Scheduled", "open"),
    ("estimate_sent", "Estimate sent", "open"),
    ("no_decision", "No decision", "no_decision"),
    ("won", "Won", "won"),
    ("lost", "Lost", "lost"),
    ("nurture", "Nurture", "nurture"),
]


# Moves only onto stages every test pipeline keeps (the default moves name stages such as work_approved).
LEAD_MOVE = "lead.received: new_lead\n"


def pipeline_yaml(stages: list[tuple[str, str, str]], moves: str = LEAD_MOVE) -> str:
    """A file with a pipeline section: ``pipeline:`` on line 3, ``stages:`` on 4, stage i on line 5 + i, then moves."""
    text = HEAD + "pipeline:\n  stages:\n"
    text += "".join(f"    - {{id: {sid}, name: {name}, kind: {kind}}}\n" for sid, name, kind in stages)
    return text + "  moves:\n" + textwrap.indent(textwrap.dedent(moves), "    ")


def test_stages_of_the_shops_own_with_the_default_moves_name_each_missing_stage() -> None:
    text = HEAD + "pipeline:\n  stages:\n"
    text += "".join(f"    - {{id: {sid}, name: {name}, kind: {kind}}}\n" for sid, name, kind in DEFAULT_STAGES)
    problems = problems_of(text)
    # No moves section: the default moves stand, and the one onto a stage this pipeline lacks is named.
    assert [(p.line, p.path) for p in problems] == [(3, "pipeline.moves.estimate.accepted")]
    assert problems[0].message.startswith("unknown stage 'work_approved' (stages: new_lead,")


def test_a_pipeline_of_the_shops_own_stages_loads() -> None:
    settings = parse_settings(pipeline_yaml(DEFAULT_STAGES, "lead.received: new_lead\njob.paid: won\n"))
    pipeline = settings.pipeline
    assert [s.id for s in pipeline.stages] == [s[0] for s in DEFAULT_STAGES]
    assert pipeline.moves == {"lead.received": "new_lead", "job.paid": "won"}
    assert pipeline.of_kind("nurture").id == "nurture"
    assert pipeline.no_decision_after_days == 14


def test_the_default_pipeline_has_the_playbooks_stages_and_moves() -> None:
    pipeline = parse_settings(HEAD).pipeline
    assert [(s.id, s.kind) for s in pipeline.stages] == [
        ("new_lead", "open"),
        ("qualified", "open"),
        ("scheduled", "open"),
        ("estimate_sent", "open"),
        ("work_approved", "open"),
        ("no_decision", "no_decision"),
        ("won", "won"),
        ("lost", "lost"),
        ("nurture", "nurture"),
    ]
    assert pipeline.moves == {
        "lead.received": "new_lead",
        "job.booked": "scheduled",
        "estimate.sent": "estimate_sent",
        "estimate.accepted": "work_approved",
        "estimate.declined": "lost",
        "job.paid": "won",
        "job.cancelled": "nurture",
    }
    assert pipeline.no_decision_after_days == 14


def test_a_stage_listed_twice_names_the_second_one() -> None:
    stages = [*DEFAULT_STAGES[:2], ("new_lead", "Fresh lead", "open"), *DEFAULT_STAGES[2:]]
    problem = only_problem(pipeline_yaml(stages))
    assert (problem.line, problem.path) == (7, "pipeline.stages.2.id")
    assert problem.message == "stage 'new_lead' is listed twice"


@pytest.mark.parametrize("kind", ["won", "lost", "nurture", "no_decision"])
def test_a_pipeline_without_a_closing_or_parking_stage_is_refused(kind: str) -> None:
    problem = only_problem(pipeline_yaml([s for s in DEFAULT_STAGES if s[2] != kind]))
    assert (problem.line, problem.path) == (4, "pipeline.stages")
    assert problem.message == f"needs exactly one stage of kind {kind!r}"


def test_two_stages_of_one_closing_kind_are_refused() -> None:
    problem = only_problem(pipeline_yaml([*DEFAULT_STAGES, ("won_again", "Won again", "won")]))
    assert (problem.line, problem.path) == (4, "pipeline.stages")
    assert problem.message == "needs exactly one stage of kind 'won'"


def test_a_move_to_an_unknown_stage_is_refused_with_the_stages_listed() -> None:
    problem = only_problem(pipeline_yaml(DEFAULT_STAGES, "lead.received: new_lead\njob.booked: booked\n"))
    assert (problem.line, problem.path) == (14, "pipeline.moves.job.booked")
    assert problem.message == (
        "unknown stage 'booked' (stages: new_lead, scheduled, estimate_sent, no_decision, won, lost, nurture)"
    )


def test_a_move_on_an_unknown_event_is_refused() -> None:
    problem = only_problem(pipeline_yaml(DEFAULT_STAGES, "job.paid: won\ninvoice.paid: won\n"))
    assert (problem.line, problem.path) == (14, "pipeline.moves.invoice.paid")
    assert problem.message.startswith("unknown event (known: job.booked,")


def test_every_pipeline_problem_is_reported_together() -> None:
    stages = [("a", "A", "open"), ("a", "A again", "open"), ("won", "Won", "won")]
    problems = problems_of(pipeline_yaml(stages, "job.booked: b\njob.bookd: a\n"))
    assert [(p.line, p.path, p.message) for p in problems] == [
        (6, "pipeline.stages.1.id", "stage 'a' is listed twice"),
        (4, "pipeline.stages", "needs exactly one stage of kind 'lost'"),
        (4, "pipeline.stages", "needs exactly one stage of kind 'nurture'"),
        (4, "pipeline.stages", "needs exactly one stage of kind 'no_decision'"),
        (9, "pipeline.moves.job.booked", "unknown stage 'b' (stages: a, a, won)"),
        (10, "pipeline.moves.job.bookd", problems[-1].message),
    ]
    assert problems[-1].message.startswith("unknown event")


def test_no_decision_after_days_must_be_positive() -> None:
    problem = only_problem(HEAD + "pipeline:\n  no_decision_after_days: 0\n")
    assert (problem.line, problem.path) == (4, "pipeline.no_decision_after_days")


# --- identity thresholds and equipment rules -----------------------------------------------------------------------


@pytest.mark.parametrize(("review_at", "merge_at"), [(0.9, 0.8), (0.85, 0.85)])
def test_a_review_threshold_not_below_the_merge_threshold_is_refused(review_at: float, merge_at: float) -> None:
    problem = only_problem(HEAD + f"identity:\n  merge_at: {merge_at}\n  review_at: {review_at}\n")
    assert (problem.line, problem.path) == (3, "identity")
    assert "review_at must be below merge_at" in problem.message


def test_ordered_identity_thresholds_load() -> None:
    identity = parse_settings(HEAD + "identity:\n  merge_at: 0.95\n  review_at: 0.7\n").identity
    assert (identity.merge_at, identity.review_at) == (0.95, 0.7)


def test_an_equipment_rule_with_a_bad_regular_expression_is_refused_by_name() -> None:
    problem = only_problem(
        HEAD
        + textwrap.dedent(
            """\
            enrichment:
              equipment_rules:
                - name: furnace_install
                  match: furnace
                  equipment: furnace
                  warranty_years: 10
                - name: broken_boiler
                  match: "boiler("
                  equipment: boiler
                  warranty_years: 10
            """
        )
    )
    assert (problem.line, problem.path) == (9, "enrichment.equipment_rules.1")
    assert "rule 'broken_boiler': match is not a valid regular expression" in problem.message


def test_a_shops_equipment_rules_replace_the_defaults() -> None:
    settings = parse_settings(
        HEAD + "enrichment:\n  equipment_rules:\n"
        "    - {name: softener, match: 'water\\s+softener', equipment: water softener, warranty_years: 5}\n"
    )
    (rule,) = settings.enrichment.equipment_rules
    assert rule.rule().matches("New Water  Softener install")


def test_problems_in_different_sections_are_all_reported() -> None:
    problems = problems_of(
        HEAD
        + textwrap.dedent(
            """\
            field_mapping:
              job.paid:
                write: {last_paid_at: event.reason}
            pipeline:
              moves:
                job.paid: paid
            identity:
              merge_at: 0.5
              review_at: 0.6
            enrichment:
              equipment_rules:
                - {name: bad, match: "[", equipment: x, warranty_years: 1}
            renewal_after_months: 0
            """
        )
    )
    assert [(p.line, p.path) for p in problems] == [
        (5, "field_mapping.job.paid.write.last_paid_at"),
        (8, "pipeline.moves.job.paid"),
        (15, "renewal_after_months"),
        (14, "enrichment.equipment_rules.0"),
        (9, "identity"),
    ]


def test_the_packaged_configuration_spells_out_the_default_table_and_pipeline() -> None:
    """A shop reads and edits the playbook in fieldrelay.yaml: the file says what the code would do without it."""
    packaged = load_settings(DEFAULT_YAML)
    assert packaged.field_mapping == FieldMapping.model_validate(DEFAULT_FIELD_MAPPING)
    assert packaged.pipeline == Pipeline()


def test_the_action_literal_and_the_action_table_name_the_same_actions() -> None:
    """Pydantic checks a trigger against ``Action``; ``check_row`` looks it up in ``ACTIONS``: they must agree."""
    assert set(get_args(Action)) == set(ACTIONS)


def test_never_clear_names_crm_fields_and_is_read_across_rows() -> None:
    """A row's "never clear" list names CRM fields: a typo is a located problem, and any row's list counts."""
    problem = only_problem(
        HEAD + "field_mapping:\n  job.cancelled:\n    write: {last_cancellation_reason: event.reason}\n"
        "    never_clear: [last_cancelation_reason]\n"
    )
    assert "unknown CRM field" in problem.message and "last_cancellation_reason" in problem.message
    settings = parse_settings(
        HEAD + "field_mapping:\n  job.cancelled:\n    write: {last_cancellation_reason: event.reason}\n"
        "    never_clear: [last_cancellation_reason]\n  job.completed:\n    never_clear: [eta]\n",
        "shop.yaml",
    )
    assert settings.field_mapping.never_clear == {"last_cancellation_reason", "eta"}
