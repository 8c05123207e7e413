"""A read-only diagram of one sequence from fieldrelay.yaml, as SVG: its trigger and entry rules, each step with the
wait before it, its channel and the conditions it runs on (and what happens otherwise), and what ends it early."""

from __future__ import annotations

from html import escape

from markupsafe import Markup

from fieldrelay.rules.sequences import Sequence, Step

WIDTH, BOX_H, GAP = 640, 46, 34


def _box(y: int, text: str, note: str, css: str) -> str:
    return (
        f'<rect class="{css}" x="20" y="{y}" width="{WIDTH - 40}" height="{BOX_H}" rx="8"/>'
        f'<text class="node" x="34" y="{y + 20}">{escape(text)}</text>'
        f'<text class="axis" x="34" y="{y + 38}">{escape(note)}</text>'
    )


def _wait(y: int, text: str) -> str:
    middle = 60
    return (
        f'<line class="flow" x1="{middle}" y1="{y}" x2="{middle}" y2="{y + GAP}"/>'
        f'<polygon class="arrow" points="{middle - 5},{y + GAP - 8} {middle + 5},{y + GAP - 8} {middle},{y + GAP}"/>'
        f'<text class="axis" x="{middle + 14}" y="{y + GAP / 2 + 5}">{escape(text)}</text>'
    )


def _wait_words(step: Step) -> str:
    words = f"wait {step.after}" if not step.after.startswith("-") else f"{step.after.lstrip('-')} before the date"
    if step.until:
        words += f", at most until {step.until}"
    if step.align != "none":
        words += f", aligned to {step.align.replace('_', ' ')}"
    return words


def _step_words(step: Step) -> tuple[str, str]:
    what = step.task.title if step.task else (step.template or "")
    text = f"{step.name.replace('_', ' ')} · {step.channel}"
    note = what
    if step.when:
        note = f"only if {', '.join(c.replace('_', ' ') for c in step.when)}; otherwise {step.otherwise}"
        note += f" · {what}" if what else ""
    return text, note


def sequence_diagram(name: str, sequence: Sequence) -> Markup:
    """The sequence's steps top to bottom, as an accessible SVG."""
    entry = [k.replace("_", " ") for k, v in sequence.entry.model_dump().items() if v not in (None, False)]
    parts: list[str] = []
    y = 10
    parts.append(_box(y, f"when {sequence.trigger}", "entry: " + (", ".join(entry) or "everyone"), "start"))
    for step in sequence.steps:
        parts.append(_wait(y + BOX_H, _wait_words(step)))
        y += BOX_H + GAP
        text, note = _step_words(step)
        parts.append(_box(y, text, note, "step"))
    parts.append(_wait(y + BOX_H, "then"))
    y += BOX_H + GAP
    ends = ", ".join(rule.replace("_", " ") for rule in sequence.exit_on) or "nothing: every step runs"
    parts.append(_box(y, "done", f"ends early on: {ends}", "end"))
    height = y + BOX_H + 10
    steps = "; ".join(f"{s.name} ({_wait_words(s)}, {s.channel})" for s in sequence.steps)
    desc = f"Triggered by {sequence.trigger}. Steps: {steps}. Ends early on: {ends}."
    return Markup(
        f'<svg class="chart diagram" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="seq-{name}-t '
        f'seq-{name}-d" xmlns="http://www.w3.org/2000/svg"><title id="seq-{name}-t">{escape(name)} steps</title>'
        f'<desc id="seq-{name}-d">{escape(desc)}</desc>{"".join(parts)}</svg>'
    )
