"""Alerts and the owner's webhooks. Every route needs a session."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.exceptions import RequestValidationError

from anpr.messages import AlertKind
from services.api.deps import API_PREFIX, CurrentClient, PageDep, RuntimeDep
from services.api.errors import ERROR
from services.api.schemas import (
    AlertPublic,
    DeliveryPublic,
    Page,
    WebhookCreate,
    WebhookCreated,
    WebhookPublic,
)
from services.api.webhooks import NoSuchWebhook

router = APIRouter(prefix=API_PREFIX, tags=["alerts"])
BODY_MAX_BYTES = 8192
NOT_FOUND = "no such webhook"


@router.get("/alerts", response_model=Page[AlertPublic])
async def alerts(
    runtime: RuntimeDep, page: PageDep, kind: Annotated[AlertKind | None, Query()] = None
) -> Page[AlertPublic]:
    """Alerts, newest first (new ones also come on /events/stream as `event: alert`)."""
    items, total = await runtime.alerts.page(kind, page.limit, page.offset)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/webhooks", response_model=list[WebhookPublic])
async def webhooks(runtime: RuntimeDep) -> list[WebhookPublic]:
    """The URLs every alert is POSTed to, with their delivery counts."""
    return await runtime.webhooks.all()


@router.post(
    "/webhooks",
    response_model=WebhookCreated,
    status_code=status.HTTP_201_CREATED,
    max_body_size=BODY_MAX_BYTES,
)
async def add_webhook(body: WebhookCreate, runtime: RuntimeDep, client: CurrentClient) -> WebhookCreated:
    """Add a URL; the answer holds its signing secret, shown this once."""
    try:
        return await runtime.webhooks.create(body.url, client.client_name)
    except ValueError as exc:
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("body", "url"), "msg": str(exc), "input": body.url}]
        ) from None


@router.delete("/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, responses={404: ERROR})
async def remove_webhook(webhook_id: uuid.UUID, runtime: RuntimeDep, client: CurrentClient) -> None:
    """Remove the URL, and the alerts not yet delivered to it."""
    try:
        await runtime.webhooks.remove(webhook_id, client.client_name)
    except NoSuchWebhook:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND) from None


@router.get("/webhooks/{webhook_id}/deliveries", response_model=Page[DeliveryPublic], responses={404: ERROR})
async def deliveries(webhook_id: uuid.UUID, runtime: RuntimeDep, page: PageDep) -> Page[DeliveryPublic]:
    """Each alert sent (or being sent) to this URL, newest first, with every attempt."""
    try:
        items, total = await runtime.webhooks.deliveries(webhook_id, page.limit, page.offset)
    except NoSuchWebhook:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND) from None
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)
