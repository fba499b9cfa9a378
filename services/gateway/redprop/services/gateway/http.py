"""The HTTP side: nameko's web server on the configured port, routes that carry their own description
(for the OpenAPI document), and one error format with the right status codes.

Every failure becomes a JSON (or, for Open311 in XML, an XML) error with a status code; nothing
unexpected is ever shown to a caller: it gets ``internal_error`` with a reference to find the
traceback in the gateway's log.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import partial, wraps
from typing import Any

from eventlet import wsgi
from eventlet.event import Event
from nameko.exceptions import UnknownService
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import BindAddress, WebServer, WsgiApp
from pydantic import BaseModel
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect, Rule
from werkzeug.wrappers import Request, Response

from redprop.errors import RedpropError, Unavailable
from redprop.service import choices_of
from redprop.services.gateway import edge

log = logging.getLogger(__name__)

FORMATS = ("json", "xml")


class BadRequest(RedpropError):
    """The HTTP request itself is malformed (not JSON, not an object)."""

    code = "bad_request"
    retryable = False


class RouteNotFound(RedpropError):
    code = "not_found"
    retryable = False


class MethodNotAllowedError(RedpropError):
    code = "method_not_allowed"
    retryable = False


#: error code -> HTTP status. ``internal_error`` from a service behind the gateway is a bad gateway.
STATUS = {
    "bad_request": 400,
    "validation_failed": 422,
    "unauthorized": 401,
    "permission_denied": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "request_timeout": 408,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "too_many_requests": 429,
    "unavailable": 503,
    "internal_error": 502,
}


# -- responses --------------------------------------------------------------------------------------


def json_response(data: Any, status: int = 200, headers: dict | None = None) -> Response:
    body = json.dumps(data, ensure_ascii=False, default=str)
    return Response(body, status=status, headers=headers, mimetype="application/json")


def _xml_value(parent: ET.Element, name: str, value: Any) -> None:
    child = ET.SubElement(parent, name)
    if isinstance(value, dict):
        for key, item in value.items():
            _xml_value(child, key, item)
    elif isinstance(value, list):
        singular = {"values": "value", "attributes": "attribute", "formats": "format",
                    "endpoints": "endpoint", "keywords": "keyword"}.get(name, "item")
        for item in value:
            _xml_value(child, singular, item)
    elif isinstance(value, bool):
        child.text = "true" if value else "false"
    elif value is not None:
        child.text = str(value)


def xml_document(root: str, item: str | None, data: Any) -> bytes:
    """``root`` holding one ``item`` element per list entry (or the fields of a dict)."""
    element = ET.Element(root)
    entries = data if isinstance(data, list) else [data]
    for entry in entries:
        target = ET.SubElement(element, item) if item else element
        for key, value in entry.items():
            _xml_value(target, key, value)
    return b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(element, encoding="utf-8")


def formatted(data: Any, fmt: str, root: str, item: str | None, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(xml_document(root, item, data), status=status, mimetype="text/xml")
    return json_response(data, status)


def error_response(exc: BaseException, *, open311: bool = False, fmt: str = "json") -> Response:
    if isinstance(exc, UnknownService):  # nameko: a command's target is not running
        exc = Unavailable(f"service {exc.args[0] if exc.args else ''} is not running", {})
    if isinstance(exc, HTTPException):  # werkzeug's own limits (form parts, a body cut short)
        exc = (edge.PayloadTooLarge if exc.code == 413 else BadRequest)(exc.description or exc.name, {})
    if isinstance(exc, RedpropError):
        code, message, details = exc.code, exc.message, exc.details
        status = STATUS.get(code, 400)
    else:
        reference = uuid.uuid4().hex[:12]
        log.error("gateway internal error reference=%s: %r", reference, exc, exc_info=exc)
        code, message, details = "internal_error", f"internal error (reference {reference})", {"reference": reference}
        status = 500
    headers = {"WWW-Authenticate": 'ApiKey header="X-API-Key"'} if status == 401 else None
    if status == 429 and "retry_after" in details:
        headers = {"Retry-After": str(details["retry_after"])}
    if open311:
        # GeoReport v2's own error shape: a list of {code, description}; invalid input is a 400 there,
        # and a key not provided or invalid a 403 ("403 - api_key was not provided or is invalid").
        status = 400 if status == 422 else status
        if code == "unauthorized":
            status, headers = 403, None
        description = message
        for bad in details.get("fields", [])[:5]:
            description += f"; {bad.get('field')}: {bad.get('message')}"
        response = formatted([{"code": status, "description": description}], fmt, "errors", "error", status)
        if headers:
            response.headers.update(headers)
        return response
    body = {"error": {"status": status, "code": code, "message": message,
                      "details": json.loads(json.dumps(details, default=str))}}
    return json_response(body, status, headers)


# -- routes -----------------------------------------------------------------------------------------


@dataclass
class RouteSpec:
    """One HTTP operation; the OpenAPI document is built from these."""

    method: str
    path: str                               # OpenAPI style: /api/v1/tickets/{ticket_id}
    operation_id: str
    summary: str
    tags: tuple[str, ...]
    permission: str | None = None           # None: public
    body: type[BaseModel] | None = None
    form_body: bool = False                 # Open311 POST: form-encoded (JSON accepted too)
    query: type[BaseModel] | None = None
    reply: type[BaseModel] | dict | None = None
    status: int = 200
    open311: bool = False
    idempotent_key: bool = False            # accepts an Idempotency-Key header
    csrf_header: bool = False               # needs X-Requested-With: redprop (login, logout)
    extra_codes: tuple[str, ...] = ()       # error statuses particular to this route (documented)
    path_params: dict[str, dict] = field(default_factory=dict)
    media_type: str = "application/json"    # what a success answers with (a page: text/html; an export: text/csv)
    reply_media: tuple[str, ...] = ()       # a file in one of these types (a photo), instead of media_type
    upload: tuple[str, ...] = ()            # the body is a file: multipart/form-data or raw, in these types
    upload_field: str = "photo"             # the multipart part holding it (and the field errors name)
    #: The largest body this route takes, from the options (an upload's); None: ``http.max_body_bytes``.
    max_body: Any = None

    def werkzeug_rule(self) -> str:
        def convert(match: re.Match) -> str:
            name = match.group(1)
            return f"<any({', '.join(FORMATS)}):{name}>" if name == "format" else f"<{name}>"

        return re.sub(r"\{([a-z_]+)\}", convert, self.path)


class GatewayWsgiApp(WsgiApp):
    """nameko's WSGI app, with unknown paths and methods answered in the gateway's error format."""

    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)
        open311 = request.path.startswith("/open311/")
        fmt = "xml" if open311 and request.path.endswith(".xml") else "json"
        limit, details = self.server.limits.max_body_bytes, {}
        if (request.content_length or 0) > limit:
            upload = self._upload_route(environ)  # an upload route takes more (photos.max_bytes)
            if upload is not None:
                limit, details = upload.body_limit(), {"field": upload.spec.upload_field}
        if (request.content_length or 0) > limit:
            # Refused from the header alone, and the connection closed: the body is never read.
            edge.close_after_response(environ)
            response = error_response(edge.PayloadTooLarge(
                f"the body is {request.content_length} bytes; at most {limit} are accepted",
                {"limit": limit, **details}), open311=open311, fmt=fmt)
            return response(environ, start_response)
        try:
            adapter = self.url_map.bind_to_environ(environ)
            provider, values = adapter.match()
            request.path_values = values
            response = provider.handle_request(request)
        except RequestRedirect as exc:
            response = exc
        except NotFound:
            response = error_response(RouteNotFound(f"no such path: {request.path}"), open311=open311, fmt=fmt)
        except MethodNotAllowed as exc:
            response = error_response(MethodNotAllowedError(f"{request.method} is not allowed here",
                                                            {"allowed": sorted(exc.valid_methods or [])}),
                                      open311=open311, fmt=fmt)
            response.headers["Allow"] = ", ".join(sorted(exc.valid_methods or []))
        except HTTPException as exc:
            response = error_response(BadRequest(exc.description or exc.name), open311=open311, fmt=fmt)
            response.status_code = exc.code or 400
        except Exception as exc:  # noqa: BLE001 - the last line of defence: never a traceback
            response = error_response(exc, open311=open311, fmt=fmt)
        return response(environ, start_response)

    def _upload_route(self, environ) -> Route | None:
        try:
            provider, _ = self.url_map.bind_to_environ(environ).match()
        except HTTPException:
            return None
        return provider if isinstance(provider, Route) and provider.spec.max_body is not None else None


class GatewayWebServer(WebServer):
    """Listens on ``services.gateway.options.http_host:http_port``, within ``options.http``'s limits."""

    @property
    def bind_addr(self):
        options = choices_of(self.container).options
        return BindAddress(options.http_host, options.http_port)

    @property
    def port(self) -> int:
        return self._sock.getsockname()[1]

    def setup(self):
        super().setup()
        self.limits = choices_of(self.container).options.http
        self.connections = edge.ConnectionTable(edge.connection_cap(self.limits))

    def run(self):
        edge.accept_loop(self)

    def stop(self):
        super().stop()
        self.connections.close_idle()

    def get_wsgi_app(self):
        return GatewayWsgiApp(self)

    def get_wsgi_server(self, sock, wsgi_app, protocol=edge.GatewayProtocol, debug=False):
        limits = self.limits
        protocol = type("Protocol", (protocol,), {"request_timeout": limits.request_timeout})
        return wsgi.Server(sock, sock.getsockname(), wsgi_app, protocol=protocol, debug=debug, log=log,
                           keepalive=limits.idle_timeout, socket_timeout=limits.request_timeout)


class Route(HttpRequestHandler):
    """An HTTP entrypoint: authenticates and authorises before a worker runs, answers errors uniformly.

    The method is called as ``method(request, principal, **path_values)``; it returns a Response. The
    caller is identified in the worker (``route`` wraps the method), where the gateway's database and the
    registry can be asked.
    """

    server = GatewayWebServer()

    def __init__(self, spec: RouteSpec, **kwargs):
        self.spec = spec
        super().__init__(spec.method, spec.werkzeug_rule(), **kwargs)

    def get_url_rule(self):
        return Rule(self.url, methods=[self.spec.method])

    def body_limit(self) -> int:
        limits = self.server.limits
        if self.spec.max_body is None:
            return limits.max_body_bytes
        return max(limits.max_body_bytes, self.spec.max_body(choices_of(self.container).options))

    def handle_request(self, request):
        request.shallow = False
        fmt = request.path_values.get("format", "json")
        try:
            # The body is read here, bounded in size and time, before a worker is taken for it.
            request.limits = self.server.limits
            if self.spec.max_body is not None:
                request.limits = request.limits.model_copy(update={"max_body_bytes": self.body_limit()})
            request._cached_data = edge.read_body(request, request.limits)
            event = Event()
            self.container.spawn_worker(self, (request, None), dict(request.path_values), context_data={},
                                        handle_result=partial(self.handle_result, event))
            response = event.wait()
            if not isinstance(response, Response):
                raise TypeError(f"{self.method_name} returned {type(response).__name__}, not a Response")
            return response
        except Exception as exc:  # noqa: BLE001 - answered in the error format, logged if unexpected
            return error_response(exc, open311=self.spec.open311, fmt=fmt)


def route(method: str, path: str, operation_id: str, summary: str = "", *, tags: tuple[str, ...],
          operation=None, **options):
    """Declare an HTTP operation: ``@route("GET", "/api/v1/tickets/{ticket_id}", "getTicket", ...)``.

    A route that stands for one operation of a service's contract names it (``operation=``): its summary
    is the contract's, followed by what is particular to HTTP (``summary``), so it is written once.
    """
    if operation is not None:
        summary = " ".join(part for part in (operation.summary, summary) if part)
    spec = RouteSpec(method=method, path=path, operation_id=operation_id, summary=summary, tags=tags, **options)
    entrypoint = Route.decorator(spec, expected_exceptions=(RedpropError,))

    def decorate(handler):
        @wraps(handler)
        def authorised(self, request, principal, **values):
            if spec.permission is not None:
                principal = self.auth.authorise(self, request, spec.permission)
            return handler(self, request, principal, **values)

        return entrypoint(authorised)

    return decorate


def routes_of(service_cls: type) -> list[RouteSpec]:
    """The HTTP operations a service class declares, in the order written: found on its methods the way
    nameko finds entrypoints, so no module keeps a list filled as a side effect of importing."""
    specs: list[RouteSpec] = []
    for klass in reversed(service_cls.__mro__):
        for member in vars(klass).values():
            specs += [ext.spec for ext in getattr(member, ENTRYPOINT_EXTENSIONS_ATTR, ()) if isinstance(ext, Route)]
    seen: set[str] = set()
    for spec in specs:
        if spec.operation_id in seen:
            raise ValueError(f"operation id {spec.operation_id} declared twice")
        seen.add(spec.operation_id)
    return specs
