"""The lead-handoff SOP: owners and clocks per stage, follow-ups and the daily open-loop review."""
