"""Tariffs, tickets, payments and revenue (services/api/billing.py). Every route needs a session."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.exceptions import RequestValidationError

from services.api.billing import BillingError
from services.api.deps import API_PREFIX, CurrentClient, RuntimeDep, localize
from services.api.errors import ERROR, invalid_query
from services.api.fee_schemas import PaymentUpdate, Revenue, TariffCreate, TariffRules, TariffVersionPublic
from services.api.routes.records import Since, Until, _range
from services.api.schemas import Ticket, VisitPublic

router = APIRouter(prefix=API_PREFIX, tags=["fees"])
BODY_MAX_BYTES = 16 * 1024
NO_VISIT = "no visit has this key (the event id of its entry, or of its exit without entry)"


def _refused(exc: BillingError) -> RequestValidationError:
    error = {"type": "value_error", "loc": ("body", exc.field), "msg": str(exc), "input": None}
    return RequestValidationError([error])


@router.get("/tariffs", response_model=list[TariffVersionPublic])
async def tariffs(runtime: RuntimeDep) -> list[TariffVersionPublic]:
    """Every tariff version, the latest to take effect first."""
    return await runtime.billing.versions()


@router.post(
    "/tariffs",
    response_model=TariffVersionPublic,
    status_code=status.HTTP_201_CREATED,
    max_body_size=BODY_MAX_BYTES,
)
async def add_tariff(body: TariffCreate, runtime: RuntimeDep, client: CurrentClient) -> TariffVersionPublic:
    """A new tariff version from `effective_from` (default now, never in the past); visits that
    entered before it keep the version they entered under."""
    rules = TariffRules.model_validate(body.model_dump(exclude={"effective_from"}))
    try:
        return await runtime.billing.add_version(
            rules, localize(runtime, body.effective_from), client.client_name
        )
    except BillingError as exc:
        raise _refused(exc) from None


@router.get("/tickets/{visit_key}", response_model=Ticket, responses={404: ERROR})
async def ticket(visit_key: uuid.UUID, runtime: RuntimeDep) -> Ticket:
    """The visit's ticket: entry, exit, plate, the tariff version applied, its fee and payment."""
    found = await runtime.billing.ticket(visit_key)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NO_VISIT)
    return found


@router.put(
    "/payments/{visit_key}",
    response_model=VisitPublic,
    responses={404: ERROR, 409: ERROR},
    max_body_size=BODY_MAX_BYTES,
)
async def set_payment(
    visit_key: uuid.UUID, body: PaymentUpdate, runtime: RuntimeDep, client: CurrentClient
) -> VisitPublic:
    """Mark a visit paid (its fee now is recorded as taken), waived, or unpaid again; the client and
    time are recorded. 409 when marking paid a visit without a fee."""
    try:
        visit = await runtime.billing.set_payment(visit_key, body.status, client.client_name)
    except BillingError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    if visit is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NO_VISIT)
    return visit


@router.get("/revenue", response_model=Revenue)
async def revenue(
    runtime: RuntimeDep,
    interval: Annotated[Literal["hour", "day"], Query()] = "day",
    since: Since = None,
    until: Until = None,
) -> Revenue:
    """Fees of visits that ended in the range, per local hour or day: charged, paid, waived, unpaid;
    default the last 24 h (hour) or 7 days (day), at most a year."""
    lo, hi = _range(runtime, since, until, timedelta(days=1 if interval == "hour" else 7))
    if hi - lo > timedelta(days=366):
        raise invalid_query("until", "at most one year per request", hi.isoformat())
    return await runtime.billing.revenue(lo, hi, interval)
