"""The fields fieldrelay reads from a lead form submission (our own contract: there is no vendor).

A submission is a flat JSON object or an ``application/x-www-form-urlencoded`` body with these names; any other
field is kept in the stored body and ignored. Limits match what the customer record can hold, so an oversized
value is reported in the error queue instead of failing later in the database.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

_Text = str | None


class FormSubmission(BaseModel):
    """One submission, every value as text (blank values already removed)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    form: _Text = Field(default=None, max_length=64)
    form_id: _Text = Field(default=None, max_length=64)
    submission_id: _Text = Field(default=None, max_length=90)
    submitted_at: _Text = Field(default=None, max_length=64)
    name: _Text = Field(default=None, max_length=200)
    first_name: _Text = Field(default=None, max_length=100)
    last_name: _Text = Field(default=None, max_length=100)
    phone: _Text = Field(default=None, max_length=40)
    email: _Text = Field(default=None, max_length=254)
    address: _Text = Field(default=None, max_length=200)  # one line, stored as the street
    street: _Text = Field(default=None, max_length=200)
    unit: _Text = Field(default=None, max_length=50)
    city: _Text = Field(default=None, max_length=100)
    state: _Text = Field(default=None, max_length=50)
    postal_code: _Text = Field(default=None, max_length=20)
    zip: _Text = Field(default=None, max_length=20)
    service: _Text = Field(default=None, max_length=200)
    notes: _Text = Field(default=None, max_length=5000)
    message: _Text = Field(default=None, max_length=5000)  # a common name for the notes box
    source: _Text = Field(default=None, max_length=100)
    referral_code: _Text = Field(default=None, max_length=64)

    @property
    def form_ref(self) -> str | None:
        """The form id the body names (``form`` or ``form_id``)."""
        return self.form or self.form_id
