"""What an outside CRM is sent of a customer, read in one query: details, primary phone and email with their consent,
the merge, and the state's sequence (service/crm/sync.py ``current`` reads it at every delivery)."""

from __future__ import annotations

from sqlalchemy import BindParameter, Connection, ScalarSelect, Select, Table, bindparam, func, select

from fieldrelay.service.crm.ports import CrmContactState
from fieldrelay.service.crm.targets import CRM_SYNC
from fieldrelay.storage import contact_points
from fieldrelay.storage.tables import consents, customer_emails, customer_phones, customers, outbox

_c = customers.c
_ACCOUNT: BindParameter[str] = bindparam("b_account")


def _primary(table: Table, column: str) -> ScalarSelect[str]:
    """The customer's primary value of a contact-point table (storage/contact_points.py)."""
    return (
        select(table.c[column])
        .where(table.c.customer_id == _c.id, table.c.account_id == _ACCOUNT)
        .order_by(*contact_points.primary_first(table))
        .limit(1)
        .scalar_subquery()
    )


def _opted_out(channel: str, address: ScalarSelect[str]) -> ScalarSelect[bool]:
    k = consents.c
    return (
        select(k.opted_out)
        .where(k.account_id == _ACCOUNT, k.channel == channel, k.address == address)
        .scalar_subquery()
    )


_PHONE, _EMAIL = _primary(customer_phones, "e164"), _primary(customer_emails, "email")
_STATE: Select[tuple[object, ...]] = select(
    _c.first_name,
    _c.last_name,
    _c.street,
    _c.city,
    _c.state,
    _c.postal_code,
    _c.merged_into,
    _c.sms_opted_out,
    _PHONE.label("phone"),
    _EMAIL.label("email"),
    _opted_out("sms", _PHONE).label("phone_opted_out"),
    _opted_out("email", _EMAIL).label("email_opted_out"),
    select(func.max(outbox.c.id))
    .where(outbox.c.ordering_key == bindparam("b_key"), outbox.c.kind == CRM_SYNC)
    .scalar_subquery()
    .label("sequence"),
).where(_c.id == bindparam("b_customer"), _c.account_id == _ACCOUNT)


def contact_state(conn: Connection, account_id: str, customer_id: str, ordering_key: str) -> CrmContactState:
    """The customer as an outside CRM is sent them; LookupError when there is no such customer."""
    row = conn.execute(_STATE, {"b_account": account_id, "b_customer": customer_id, "b_key": ordering_key}).first()
    if row is None:
        raise LookupError(f"customer {customer_id} not found")
    return CrmContactState(
        first_name=row.first_name,
        last_name=row.last_name,
        street=row.street,
        city=row.city,
        state=row.state,
        postal_code=row.postal_code,
        phone=row.phone,
        email=row.email,
        merged_into=row.merged_into,
        sms_opted_out=bool(row.sms_opted_out or row.phone_opted_out),
        email_opted_out=bool(row.email_opted_out),
        sequence=int(row.sequence or 0),
    )
