"""The workbench's static assets under ``/app/``: the single-page app built from ``web/`` by ``make web``.

Any path under /app/ that is not a built file answers index.html (the SPA's own router shows the screen),
so a reloaded or shared deep link works. Vite names its bundles by content hash: those are cached for a
year; index.html is never cached, so a new build is picked up at the next load. The files are public
(the shell of the app); every datum it shows comes from the authenticated REST API.
"""

from __future__ import annotations

import mimetypes
import os
from functools import partial
from pathlib import Path

from eventlet.event import Event
from nameko.web.handlers import HttpRequestHandler
from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from redprop.services.gateway.http import GatewayWebServer, error_response, json_response

#: Where ``make web`` writes the build; REDPROP_WEB_DIST overrides it (an image copies it elsewhere).
DEFAULT_DIST = Path(__file__).resolve().parents[5] / "web" / "dist"
IMMUTABLE = "public, max-age=31536000, immutable"   # hashed file names: a new build has new names
REVALIDATE = "no-cache"                             # index.html and unhashed files: always ask

# The app runs only its own scripts (no inline script, no other origin, no framing); Element Plus sets
# inline styles, hence 'unsafe-inline' for styles alone.
CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; "
       "object-src 'none'; base-uri 'self'; frame-ancestors 'none'")

# The types a build holds, whatever the host's mime.types says.
TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".html": "text/html",
         ".svg": "image/svg+xml", ".json": "application/json", ".woff2": "font/woff2", ".png": "image/png",
         ".ico": "image/x-icon", ".webmanifest": "application/manifest+json"}


def dist_dir() -> Path:
    return Path(os.environ.get("REDPROP_WEB_DIST") or DEFAULT_DIST)


def _file(path: Path, cache: str) -> Response:
    kind = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/json", "image/svg+xml"):
        kind += "; charset=utf-8"
    response = Response(path.read_bytes(), 200, content_type=kind)
    response.headers["Cache-Control"] = cache
    response.headers["X-Content-Type-Options"] = "nosniff"
    if path.suffix == ".html":
        response.headers["Content-Security-Policy"] = CSP
    return response


def serve(path: str) -> Response:
    root = dist_dir().resolve()
    index = root / "index.html"
    if not index.is_file():
        return json_response({"error": {"status": 503, "code": "unavailable", "message":
                                        "the workbench is not built: run `make web`", "details": {}}}, 503)
    target = (root / path).resolve() if path else index
    # Never a file outside the build (../ in the path), never a directory listing.
    if target.is_file() and target.is_relative_to(root):
        cache = IMMUTABLE if target.parent.name == "assets" else REVALIDATE
        return _file(target, cache)
    if path.startswith("assets/"):  # a missing bundle is a 404, not the shell (a stale tab would loop)
        return json_response({"error": {"status": 404, "code": "route_not_found",
                                        "message": f"no such asset: /app/{path}", "details": {}}}, 404)
    return _file(index, REVALIDATE)


class AssetRoute(HttpRequestHandler):
    """A GET of the app's files on the gateway's own server. Not a Route: these are files, not the API,
    so they are neither in the OpenAPI document nor behind a key."""

    server = GatewayWebServer()

    def get_url_rule(self):
        return Rule(self.url, methods=["GET"])

    def handle_request(self, request):
        request.shallow = False
        try:
            event = Event()
            self.container.spawn_worker(self, (request,), dict(request.path_values), context_data={},
                                        handle_result=partial(self.handle_result, event))
            return event.wait()
        except Exception as exc:  # noqa: BLE001 - answered in the gateway's error format
            return error_response(exc)


class WebAppRoutes:
    """Installed on GatewayService: the workbench's files at /app/ (and /app redirects there)."""

    @AssetRoute.decorator("GET", "/app")
    def webapp_redirect(self, request):
        return Response("", 308, headers={"Location": "/app/"})

    @AssetRoute.decorator("GET", "/app/")
    def webapp_index(self, request):
        return serve("")

    @AssetRoute.decorator("GET", "/app/<path:path>")
    def webapp_asset(self, request, path):
        return serve(path)


def install(service_cls: type) -> None:
    """Add these entrypoints to the gateway's class (after its own, as the ticket actions are)."""
    for name, member in vars(WebAppRoutes).items():
        if callable(member) and not name.startswith("_"):
            setattr(service_cls, name, member)
