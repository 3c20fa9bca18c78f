"""The audit log, newest first, its sealed parts opened. Needs a session like every data route."""

from __future__ import annotations

from fastapi import APIRouter

from services.api import audit
from services.api.deps import API_PREFIX, PageDep, RuntimeDep
from services.api.schemas import AuditEntryPublic, Page

router = APIRouter(prefix=API_PREFIX, tags=["audit"])


@router.get("/audit", response_model=Page[AuditEntryPublic])
async def audit_log(runtime: RuntimeDep, page: PageDep) -> Page[AuditEntryPublic]:
    """Logins, client changes, key rotations, exports and purges; newest first."""
    items, total = await audit.page(runtime.sf, runtime.keys.cipher, runtime.tz, page.limit, page.offset)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)
