"""Follow-up sequences: enrolment on a trigger, steps on durable timers, exits on behaviour."""
