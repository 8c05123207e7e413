"""Web lead forms connector (the shop's own forms and upstream-parsed marketplace leads)."""
