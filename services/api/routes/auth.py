"""Login (token + TOTP code) and logout."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status

from services.api.auth import InvalidCredentials, RateLimited
from services.api.deps import API_PREFIX, CurrentClient, RuntimeDep
from services.api.errors import ERROR, RETRY_AFTER
from services.api.schemas import LoginRequest, LoginResponse, SessionInfo

router = APIRouter(prefix=f"{API_PREFIX}/auth", tags=["auth"])
LOGIN_MAX_BYTES = 4096


@router.post(
    "/login",
    response_model=LoginResponse,
    responses={401: ERROR, 429: ERROR | {"headers": {"Retry-After": RETRY_AFTER}}},
    max_body_size=LOGIN_MAX_BYTES,
)
async def login(body: LoginRequest, request: Request, runtime: RuntimeDep) -> LoginResponse:
    address = request.client.host if request.client else "unknown"
    try:
        token, expires = await runtime.auth.login(body.token, body.code, address)
    except RateLimited as exc:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many failed logins; retry later",
            headers={"Retry-After": str(int(exc.retry_after_s + 0.999))},
        ) from None
    except InvalidCredentials:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid credentials") from None
    return LoginResponse(
        session_token=token,
        expires_at=expires.astimezone(runtime.tz),
        idle_timeout_s=int(runtime.auth.idle.total_seconds()),
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(principal: CurrentClient, runtime: RuntimeDep) -> None:
    """Revoke the session that made this request."""
    await runtime.auth.logout(principal)


@router.get("/session", response_model=SessionInfo)
async def session(principal: CurrentClient, runtime: RuntimeDep) -> SessionInfo:
    """Who this session belongs to and when it ends at the latest."""
    return SessionInfo(client=principal.client_name, expires_at=principal.expires_at.astimezone(runtime.tz))
