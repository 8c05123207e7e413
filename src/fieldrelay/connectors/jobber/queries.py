"""The GraphQL queries the worker sends to fetch the item a webhook names, one per item kind.

Field names follow Jobber's type overview (https://developer.getjobber.com/docs); connections are always given
``first`` so the requested query cost stays small (see api_rate_limits: without it every connection is priced
at 100 nodes).
"""

from __future__ import annotations

from dataclasses import dataclass

_ADDRESS = "street1 street2 city province postalCode country"

_CLIENT = f"""
fragment ClientFields on Client {{
  id firstName lastName companyName isCompany
  emails {{ address primary }}
  phones {{ number primary }}
  billingAddress {{ {_ADDRESS} }}
}}
"""

_JOB_FIELDS = f"id jobNumber title jobStatus total startAt endAt completedAt property {{ address {{ {_ADDRESS} }} }}"


@dataclass(frozen=True)
class ItemQuery:
    """One query: the root field it reads and its text."""

    root: str
    text: str


CLIENT = ItemQuery(
    "client",
    "query FieldrelayClient($id: EncodedId!) { client(id: $id) { ...ClientFields } }" + _CLIENT,
)

JOB = ItemQuery(
    "job",
    f"query FieldrelayJob($id: EncodedId!) {{ job(id: $id) {{ {_JOB_FIELDS} client {{ ...ClientFields }} }} }}"
    + _CLIENT,
)

VISIT = ItemQuery(
    "visit",
    "query FieldrelayVisit($id: EncodedId!) { visit(id: $id) {"
    " id title visitStatus isComplete isLastScheduledVisit startAt endAt completedAt"
    " assignedUsers(first: 10) { nodes { name { full } } }"
    " timeSheetEntries(first: 10) { nodes { ticking startAt } }"
    f" job {{ {_JOB_FIELDS} client {{ ...ClientFields }} }}"
    " } }" + _CLIENT,
)

QUOTE = ItemQuery(
    "quote",
    "query FieldrelayQuote($id: EncodedId!) { quote(id: $id) {"
    " id quoteNumber title quoteStatus amounts { total } client { ...ClientFields }"
    " } }" + _CLIENT,
)

_INVOICE_FIELDS = (
    "id invoiceNumber invoiceStatus amounts { total invoiceBalance }"
    f" client {{ ...ClientFields }} jobs(first: 5) {{ nodes {{ {_JOB_FIELDS} }} }}"
)

INVOICE = ItemQuery(
    "invoice",
    f"query FieldrelayInvoice($id: EncodedId!) {{ invoice(id: $id) {{ {_INVOICE_FIELDS} }} }}" + _CLIENT,
)

PAYMENT = ItemQuery(
    "paymentRecord",
    "query FieldrelayPayment($id: EncodedId!) { paymentRecord(id: $id) {"
    f" id amount client {{ ...ClientFields }} invoice {{ {_INVOICE_FIELDS} }}"
    " } }" + _CLIENT,
)

REQUEST = ItemQuery(
    "request",
    "query FieldrelayRequest($id: EncodedId!) { request(id: $id) {"
    f" id title source email phone client {{ ...ClientFields }} property {{ address {{ {_ADDRESS} }} }}"
    " } }" + _CLIENT,
)
