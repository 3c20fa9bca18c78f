"""The owner's web app: its static shell and assets (services/api/web), with security headers.

Only the files named in deps.WEB_ASSETS are served, each by its own route, so the guard's allow-list
and the route coverage test see every public path by name. The files hold no data: the app signs in
and reads everything through the guarded API.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

from services.api.deps import WEB_ASSETS

WEB_DIR = Path(__file__).resolve().parents[1] / "web"
APP_PREFIX = "/app/"
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
#: No inline script or style, nothing from another origin, not framed; snapshots are shown as blob: URLs.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob:",
        "connect-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cache-Control": "no-cache",  # revalidate (ETag), so an update is picked up at once
}

router = APIRouter(include_in_schema=False)


def asset_file(url_path: str) -> Path:
    """The file behind an allow-listed path: /app/ is index.html, /app/x is web/x."""
    relative = url_path.removeprefix(APP_PREFIX) or "index.html"
    path = (WEB_DIR / relative).resolve()
    if WEB_DIR not in path.parents or not path.is_file():
        raise FileNotFoundError(f"web asset {url_path} has no file {path}")
    if path.suffix not in MEDIA_TYPES:
        raise ValueError(f"web asset {url_path}: no media type for {path.suffix}")
    return path


def _serve(path: Path):  # noqa: ANN202 - a route endpoint
    media_type = MEDIA_TYPES[path.suffix]

    async def asset() -> FileResponse:
        return FileResponse(path, media_type=media_type, headers=SECURITY_HEADERS)

    return asset


for _url in sorted(WEB_ASSETS):
    router.add_api_route(_url, _serve(asset_file(_url)), methods=["GET"], name=f"web:{_url}")


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse(APP_PREFIX, status_code=302)
