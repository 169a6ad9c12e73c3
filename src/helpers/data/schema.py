"""The canonical sources and columns every chapter reads, with types and what needs them.

Raw exports are mapped onto these names by the parameters file (see ``params.SourceSpec``).
Only ``orders`` is required; every other source is optional and a chapter section that needs
an absent one says so instead of failing.
"""
from __future__ import annotations

from dataclasses import dataclass


# kinds: id (text key), text, category, datetime, float, int, bool
@dataclass(frozen=True)
class Column:
    """One canonical column and the rules its values obey (checked once, in ``cleaning``).

    ``valid`` is the inclusive range of a number (``None`` for an open end); every number must be
    finite. ``vocabulary`` lists the only values a category may take after trimming and case
    folding. ``free_text`` marks text scrubbed of personal data before it is stored or shown.
    """

    name: str
    kind: str
    required: bool = False
    personal: bool = False
    description: str = ""
    valid: tuple[float | None, float | None] | None = None
    vocabulary: tuple[str, ...] | None = None
    free_text: bool = False


@dataclass(frozen=True)
class Source:
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    description: str
    date_column: str | None = None
    # (later, earlier): the first datetime column may not lie before the second.
    date_order: tuple[tuple[str, str], ...] = ()

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def personal_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.personal]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no canonical column {name!r}")

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def of_kind(self, kind: str) -> list[Column]:
        return [c for c in self.columns if c.kind == kind]


C = Column
SOURCES: dict[str, Source] = {
    "customers": Source(
        "customers",
        key=("customer_id",),
        date_column="signup_date",
        description="One row per customer account (CRM and web shop may both hold the same person).",
        columns=(
            C("customer_id", "id", True, description="Account id, unique within the export"),
            C("source_system", "category", description="System the account comes from (crm, webshop)"),
            C("name", "text", personal=True, description="Person or company name (dropped after cleaning)"),
            C("phone", "text", personal=True, description="Phone number (used only to merge duplicates)"),
            C("email", "text", personal=True, description="E-mail address (used only to merge duplicates)"),
            C("id_number", "text", personal=True, description="National ID / company registration number"),
            C("customer_type", "category", description="enterprise or individual"),
            C("industry", "category", description="Industry of enterprise customers"),
            C("company_size", "category", description="large, medium or small (enterprises)"),
            C("region", "category", description="Sales region or country"),
            C("country", "category", description="Country"),
            C("acquisition_channel", "category", description="Channel that acquired the customer"),
            C("signup_date", "datetime", description="Date the account was created"),
            C("birth_year", "int", description="Birth year of individual customers", valid=(1900, 2100)),
        ),
    ),
    "orders": Source(
        "orders",
        key=("order_id", "line_id"),
        date_column="order_date",
        description="One row per order line; returns and cancellations included and flagged.",
        columns=(
            C("order_id", "id", True, description="Order / invoice number"),
            C("line_id", "id", description="Line number within the order (made up when absent)"),
            C("customer_id", "id", True, description="Customer account id"),
            C("order_date", "datetime", True, description="Order date and time"),
            C("amount", "float", True, description="Line amount in the report currency; negative for returns"),
            C("product_id", "id", description="Product / stock code"),
            C("quantity", "float", description="Units on the line"),
            C("unit_price", "float", description="Price per unit (lets amount be derived)"),
            C("channel", "category", description="Sales channel (online, offline, app)",
              vocabulary=("online", "offline", "app")),
            C("status", "category", description="completed, cancelled or refunded (default completed)",
              vocabulary=("completed", "cancelled", "refunded")),
            C("is_return", "bool", description="The line is a return / credit note"),
            C("region", "category", description="Customer's region on the order (used when there is no customer table)"),
            C("country", "category", description="Customer's country on the order (used when there is no customer table)"),
        ),
    ),
    "products": Source(
        "products",
        key=("product_id",),
        description="Product master data.",
        columns=(
            C("product_id", "id", True, description="Product / stock code"),
            C("product_name", "text", description="Product name"),
            C("category", "category", description="Product category"),
            C("unit_price", "float", description="List price", valid=(0, None)),
            C("unit_cost", "float", description="Unit cost, for margins", valid=(0, None)),
        ),
    ),
    "tickets": Source(
        "tickets",
        key=("ticket_id",),
        date_column="created_at",
        date_order=(("first_response_at", "created_at"), ("resolved_at", "created_at")),
        description="Service tickets: complaints and consultations.",
        columns=(
            C("ticket_id", "id", True, description="Ticket id"),
            C("customer_id", "id", True, description="Customer account id"),
            C("created_at", "datetime", True, description="When the ticket was opened"),
            C("ticket_type", "category", True, description="complaint or consultation",
              vocabulary=("complaint", "consultation")),
            C("first_response_at", "datetime", description="First answer to the customer"),
            C("resolved_at", "datetime", description="When it was resolved (empty while open)"),
            C("complaint_type", "category", description="Kind of complaint (quality, delivery, ...)"),
            C("product_id", "id", description="Product concerned"),
            C("department", "category", description="Handling department"),
            C("channel", "category", description="Contact channel (phone, e-mail, chat, ...)"),
            C("reopened", "bool", description="The ticket was reopened after resolution"),
            C("comment", "text", description="Free text of the ticket", free_text=True),
        ),
    ),
    "surveys": Source(
        "surveys",
        key=("survey_id",),
        date_column="response_date",
        description="Survey responses: NPS (0-10), CSAT (1-5), comments.",
        columns=(
            C("survey_id", "id", True, description="Response id"),
            C("customer_id", "id", True, description="Customer account id"),
            C("response_date", "datetime", True, description="Response date"),
            C("nps_score", "float", description="Likelihood to recommend, 0-10", valid=(0, 10)),
            C("csat_score", "float", description="Satisfaction, 1-5", valid=(1, 5)),
            C("comment", "text", description="Free text", free_text=True),
        ),
    ),
    "events": Source(
        "events",
        key=(),
        date_column="event_time",
        description="Web / app behaviour events.",
        columns=(
            C("customer_id", "id", True, description="Customer account id"),
            C("event_time", "datetime", True, description="Event time"),
            C("event_type", "category", True, description="visit, product_view, add_to_cart, purchase, feature_use",
              vocabulary=("visit", "product_view", "add_to_cart", "purchase", "feature_use")),
            C("session_id", "id", description="Session id"),
            C("feature", "category", description="Feature used (for feature_use events)"),
            C("channel", "category", description="web or app", vocabulary=("web", "app")),
        ),
    ),
    "campaigns": Source(
        "campaigns",
        key=("month", "channel"),
        date_column="month",
        description="Marketing spend and leads per month and acquisition channel.",
        columns=(
            C("month", "datetime", True, description="First day of the month"),
            C("channel", "category", True, description="Acquisition channel (matches customers.acquisition_channel)"),
            C("spend", "float", True, description="Spend in the report currency", valid=(0, None)),
            C("leads", "float", description="Leads generated", valid=(0, None)),
        ),
    ),
}
del C

REQUIRED_SOURCES = ("orders",)
PERSONAL_FIELDS = tuple(sorted({c for s in SOURCES.values() for c in s.personal_columns}))
FREE_TEXT_COLUMNS = {name: [c.name for c in s.columns if c.free_text] for name, s in SOURCES.items()}
