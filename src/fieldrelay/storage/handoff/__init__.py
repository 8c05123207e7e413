"""Storage of the lead-handoff SOP (and the referral tables): the team, tasks, report figures."""
