"""The gateway service: HTTP entrypoints that translate to contract calls and back. No business logic:
every rule (who may rate, what a status means, which deadlines apply) is the services' own."""

from __future__ import annotations

import logging
from pathlib import Path

from nameko.exceptions import UnknownService
from werkzeug.wrappers import Response

from redprop.cache import ExpiringCache
from redprop.clock import utcnow
from redprop.contracts import evaluation as evaluation_c
from redprop.contracts import mediation as mediation_c
from redprop.contracts import registry as registry_c
from redprop.contracts import ticketing as ticketing_c
from redprop.db import Database
from redprop.errors import NotFound, PermissionDenied, RedpropError, Unavailable, ValidationFailed
from redprop.messaging import ServiceRpc
from redprop.service import RedpropService
from redprop.services.gateway import (
    accounts,
    addresses,
    oidc_login,
    open311,
    participation_routes,
    photos_routes,
    projects_routes,
    screens_routes,
    sessions,
    webapp,
    workbench,
)
from redprop.services.gateway import models as m
from redprop.services.gateway.auth import (
    Gatekeeper,
    Principal,
    Unauthorized,
    may_see_ticket,
    reporter_fields,
    require_csrf_header,
    ticket_filters,
)
from redprop.services.gateway.bodies import (
    TICKET_ACTIONS,
    BallotBody,
    LeagueQuery,
    LoginBody,
    OidcCallbackQuery,
    OidcMethod,
    PageQuery,
    SessionMethods,
    SessionReply,
    SubmitTicketBody,
    TicketListQuery,
    idempotency_key,
    parse,
    read_body,
    read_json,
    read_query,
)
from redprop.services.gateway.http import BadRequest, formatted, json_response, route
from redprop.services.gateway.openapi import openapi_document
from redprop.services.gateway.options import GatewayOptions

MIGRATIONS = Path(__file__).parent / "migrations"
OIDC_LOGIN_PATH = "/api/v1/session/oidc/login"
log = logging.getLogger(__name__)


def _login_error(reason: str) -> Response:
    """Back to the app's login page, which says what went wrong (no session was made)."""
    response = Response("", 302, headers={"Location": f"/app/login?error={reason}", "Cache-Control": "no-store"})
    response.delete_cookie(oidc_login.STATE_COOKIE, path=oidc_login.STATE_COOKIE_PATH)
    return response

READY_TIMEOUT = 2.0  # seconds a readiness probe waits for each service
LIST_PAGE = 500
LIST_ARGS = ("service_request_id", "service_code", "status")


def _dump(reply) -> dict:
    return reply.model_dump(mode="json")


TICKETING_OPS = ticketing_c.CONTRACT.operations
MEDIATION_OPS = mediation_c.CONTRACT.operations
EVALUATION_OPS = evaluation_c.CONTRACT.operations


class GatewayService(RedpropService):
    name = "gateway"
    contract = None  # HTTP only: it offers no RPC operations and publishes no events
    options_model = GatewayOptions

    #: Accounts, login sessions and API keys (no business data: that stays in the services).
    db = Database(m.metadata, migrations=MIGRATIONS)
    auth = Gatekeeper()
    registry = ServiceRpc("registry")
    ticketing = ServiceRpc("ticketing")
    catalogue_cache = ExpiringCache(size=1, ttl=60.0)
    mediation = ServiceRpc("mediation")
    evaluation = ServiceRpc("evaluation")

    # -- health and documents ---------------------------------------------------------------------

    @route("GET", "/healthz", "health", "The gateway process is up.", tags=("health",))
    def healthz(self, request, principal):
        return json_response({"status": "ok", "service": "gateway", "district": self.district})

    @route("GET", "/readyz", "ready", "The gateway and the services it needs answer.", tags=("health",))
    def readyz(self, request, principal):
        checks = {}
        for name, call in (("registry", lambda: self.registry.summary), ("ticketing", lambda: self.ticketing.catalogue)):
            proxy = call()
            proxy.timeout = READY_TIMEOUT
            try:
                proxy()
                checks[name] = "ok"
            except RedpropError as exc:
                checks[name] = exc.code
            except UnknownService:
                checks[name] = "unavailable"
        ready = all(state == "ok" for state in checks.values())
        return json_response({"status": "ready" if ready else "not_ready", "checks": checks}, 200 if ready else 503)

    @route("GET", "/openapi.json", "openapi", "This API's OpenAPI 3.1 document.", tags=("health",))
    def openapi(self, request, principal):
        return json_response(openapi_document(type(self)))

    # -- REST: who am I, catalogue, places ------------------------------------------------------------

    @route("GET", "/api/v1/me", "whoAmI", "The caller's role, district and subject.", tags=("account",),
           permission="me")
    def me(self, request, principal: Principal):
        return json_response({"name": principal.name, "role": principal.role, "district": principal.district,
                              "subject": principal.subject, "person_id": principal.person_id,
                              "via": principal.via, "actor": principal.actor()})

    # -- REST: login sessions -----------------------------------------------------------------------

    def _session_reply(self, principal: Principal, expires_at=None) -> dict:
        posts = [p.as_dict() for p in principal.posts]
        return SessionReply(person_id=principal.person_id, name=principal.name,
                            roles=sorted({p["role"] for p in posts}), posts=posts, role=principal.role,
                            subject=principal.subject, district=principal.district,
                            expires_at=expires_at.isoformat() if expires_at else None).model_dump(mode="json")

    @route("POST", "/api/v1/session", "login",
           "Log a person in with their account's username and password: answers who they are and sets the "
           "HttpOnly, SameSite=Strict cookie `redprop_session`. Send `X-Requested-With: redprop`. Failed logins "
           "are limited per username and per address (429 with Retry-After).",
           tags=("account",), body=LoginBody, reply=SessionReply, csrf_header=True, extra_codes=("401", "403", "429"))
    def login(self, request, principal):
        require_csrf_header(request)  # no login CSRF: a cross-site form cannot log a browser in
        body = read_body(request, LoginBody)
        username, address = accounts.normalise(body.username), request.remote_addr or "?"
        self.auth.failures.check(username, address)
        account = accounts.check_password(self.db, self.district, username, body.password)
        person = self.auth.person(self.registry, account.person_id) if account is not None else None
        if person is None:
            self.auth.failures.failed(username, address)
            raise Unauthorized("wrong username or password", {"field": "password"})
        self.auth.failures.succeeded(username)
        token = sessions.start(self.db, self.district, account.username, account.person_id, self.options.sessions)
        self.db.commit()  # before the answer: the cookie must work on the very next request
        reply = self._session_reply(self.auth.person_principal(person, "session"))
        return self._with_session_cookie(json_response(reply), token)

    def _with_session_cookie(self, response: Response, token: str) -> Response:
        response.set_cookie(sessions.COOKIE, token, max_age=self.options.sessions.max_age, path="/", httponly=True,
                            samesite="Strict", secure=self.options.secure_cookie())
        return response

    @route("GET", "/api/v1/session/methods", "getLoginMethods",
           "How a person may log in here: with an account's password, and with the district's identity provider "
           "when the gateway is configured as its client (the app shows that button).",
           tags=("account",), reply=SessionMethods)
    def login_methods(self, request, principal):
        oidc = None
        if self.auth.oidc_login is not None:
            oidc = OidcMethod(display_name=self.options.oidc.display_name, login_url=OIDC_LOGIN_PATH)
        return json_response(SessionMethods(password=True, oidc=oidc).model_dump(mode="json"))

    @route("GET", OIDC_LOGIN_PATH, "startOidcLogin",
           "Start logging in with the district's identity provider: redirects (302) there, with a state, a nonce "
           "and a PKCE challenge; it sends the browser back to the callback. 404 when OIDC login is not "
           "configured.", tags=("account",), status=302)
    def oidc_login(self, request, principal):
        login = self._oidc_login()
        try:
            url, state = login.begin(self.db, self.district)
        except Unavailable:
            return _login_error("unavailable")
        self.db.commit()
        response = Response("", 302, headers={"Location": url, "Cache-Control": "no-store"})
        # Lax: sent when the provider sends the browser back (a top-level GET from its site).
        response.set_cookie(oidc_login.STATE_COOKIE, state, max_age=self.options.oidc.login_ttl,
                            path=oidc_login.STATE_COOKIE_PATH, httponly=True, samesite="Lax",
                            secure=self.options.secure_cookie())
        return response

    @route("GET", "/api/v1/session/oidc/callback", "finishOidcLogin",
           "Where the identity provider sends the browser back: checks the state (once, in time, of this "
           "browser), exchanges the code, verifies the id_token, starts a session as a password login does and "
           "redirects (302) to `/app/`; any failure redirects to `/app/login?error=<code>` without a session. "
           "404 when OIDC login is not configured.", tags=("account",), query=OidcCallbackQuery, status=302)
    def oidc_callback(self, request, principal):
        login = self._oidc_login()
        query = read_query(request, OidcCallbackQuery)
        try:
            if query.error:
                raise oidc_login.LoginFailed("denied" if query.error == "access_denied" else "provider",
                                             "the identity provider refused")
            nonce, verifier = login.take(self.db, self.district, query.state,
                                         request.cookies.get(oidc_login.STATE_COOKIE))
            self.db.commit()  # the state is spent even if what follows fails
            if not query.code:
                raise oidc_login.LoginFailed("provider", "the identity provider sent no code")
            person_id = login.person_id(query.code, nonce, verifier)
            try:
                known = self.auth.person(self.registry, person_id) is not None
            except (Unavailable, UnknownService):
                raise oidc_login.LoginFailed("unavailable", "the registry does not answer") from None
            if not known:
                raise oidc_login.LoginFailed("unknown_person", "the provider's person is not in the registry")
            if accounts.person_disabled(self.db, self.district, person_id):
                raise oidc_login.LoginFailed("disabled", "the person's account here is disabled")
        except oidc_login.LoginFailed as exc:
            self.db.commit()  # a taken state stays taken
            log.info("OIDC login failed: %s (%s)", exc.reason, exc)
            return _login_error(exc.reason)
        token = sessions.start(self.db, self.district, sessions.OIDC_PREFIX + person_id, person_id,
                               self.options.sessions)
        self.db.commit()
        response = self._with_session_cookie(Response("", 302, headers={"Location": "/app/",
                                                                        "Cache-Control": "no-store"}), token)
        response.delete_cookie(oidc_login.STATE_COOKIE, path=oidc_login.STATE_COOKIE_PATH)
        return response

    def _oidc_login(self) -> oidc_login.OidcLogin:
        if self.auth.oidc_login is None:
            raise NotFound("OIDC login is not configured here (oidc.client_id)", {})
        return self.auth.oidc_login

    @route("GET", "/api/v1/session", "getSession", "The person logged in (or holding the key), their posts "
           "and gateway role; 401 without a session.", tags=("account",), permission="me", reply=SessionReply)
    def get_session(self, request, principal: Principal):
        return json_response(self._session_reply(principal))

    @route("DELETE", "/api/v1/session", "logout", "End the session (send `X-Requested-With: redprop`); the "
           "cookie is cleared.", tags=("account",), status=204, csrf_header=True, extra_codes=("403",))
    def logout(self, request, principal):
        token = request.cookies.get(sessions.COOKIE)
        if token:
            require_csrf_header(request)
            sessions.end(self.db, token)
            self.db.commit()
        response = Response(status=204)
        response.delete_cookie(sessions.COOKIE, path="/", httponly=True, samesite="Strict",
                               secure=self.options.secure_cookie())
        return response

    @route("GET", "/api/v1/catalogue", "getCatalogue", tags=("tickets",), operation=TICKETING_OPS["catalogue"],
           permission="catalogue.read", reply=ticketing_c.CatalogueReply)
    def catalogue(self, request, principal):
        return json_response(_dump(self.ticketing.catalogue()))

    def _community_items(self, request, community_id: str, kind: str):
        page = read_query(request, PageQuery)
        self.registry.get(kind="region", id=community_id)  # 404 for an unknown community
        return json_response(_dump(self.registry.list(kind=kind, within=community_id, limit=page.limit,
                                                      offset=page.offset)))

    @route("GET", "/api/v1/communities/{community_id}/complexes", "listComplexes",
           "The complexes (小区) of a community.", tags=("places",), permission="places.read", query=PageQuery,
           reply=registry_c.ListReply)
    def complexes(self, request, principal, community_id):
        return self._community_items(request, community_id, "complex")

    @route("GET", "/api/v1/communities/{community_id}/grids", "listGrids", "The grids (网格) of a community.",
           tags=("places",), permission="places.read", query=PageQuery, reply=registry_c.ListReply)
    def grids(self, request, principal, community_id):
        return self._community_items(request, community_id, "grid")

    # -- REST: tickets ----------------------------------------------------------------------------

    @route("POST", "/api/v1/tickets", "submitTicket", "A worker's key names the resident.", tags=("tickets",),
           operation=TICKETING_OPS["submit"], permission="tickets.submit", body=SubmitTicketBody, reply=ticketing_c.TicketReply, status=201,
           idempotent_key=True)
    def submit_ticket(self, request, principal: Principal):
        fields = read_body(request, SubmitTicketBody).model_dump(mode="json", exclude_unset=True)
        # A well-formed code the catalogue lacks is a reference to nothing: 404, as for a building.
        self._known_codes([fields["category"]])
        if "resident_id" in fields and fields["resident_id"] is None:  # the document says a string, or absent
            raise ValidationFailed.for_field("resident_id", "a person id, or leave it out", "type")
        reporter = reporter_fields(principal, fields.pop("resident_id", None), "resident_id")
        if reporter is None:
            raise ValidationFailed.for_field("resident_id", "name the resident you submit for", "missing")
        fields.update(reporter)
        reply = self.ticketing.submit(request_id=idempotency_key(request), **fields)
        return json_response(_dump(reply), 201)

    @route("GET", "/api/v1/tickets", "listTickets",
           "The caller sees a resident's own, a handler's, or (workers) all.", operation=TICKETING_OPS["list"],
           tags=("tickets",), permission="tickets.read", query=TicketListQuery, reply=ticketing_c.TicketList)
    def list_tickets(self, request, principal: Principal):
        query = read_query(request, TicketListQuery).model_dump(exclude_unset=True)
        return json_response(_dump(self.ticketing.list(**{**query, **ticket_filters(principal)},
                                                       viewer=principal.actor())))

    def _visible_ticket(self, principal: Principal, ticket_id: str):
        reply = self.ticketing.get(ticket_id=ticket_id, viewer=principal.actor())
        if not may_see_ticket(principal, reply.ticket):
            raise NotFound.entity("ticket", ticket_id, "ticket_id")  # do not reveal others' tickets
        return reply

    @route("GET", "/api/v1/tickets/{ticket_id}", "getTicket", "With its SLA deadlines.",
           operation=TICKETING_OPS["get"], tags=("tickets",), permission="tickets.read", reply=ticketing_c.TicketReply)
    def get_ticket(self, request, principal, ticket_id):
        return json_response(_dump(self._visible_ticket(principal, ticket_id)))

    def _ticket_action(self, request, principal: Principal, ticket_id: str, action: str):
        _, body_model, _ = TICKET_ACTIONS[action]
        fields = read_body(request, body_model).model_dump(mode="json", exclude_unset=True)
        # A ticket the caller may not see is 404 like a missing one, not the service's 403/409 (which would
        # tell that it exists, and its state).
        self._visible_ticket(principal, ticket_id)
        reply = getattr(self.ticketing, action)(ticket_id=ticket_id, actor=principal.actor(),
                                                request_id=idempotency_key(request), **fields)
        return json_response(_dump(reply))

    # -- REST: consultations and league tables --------------------------------------------------------

    @route("GET", "/api/v1/consultations/{consultation_id}", "getConsultation",
           operation=MEDIATION_OPS["get_consultation"], tags=("consultations",),
           permission="consultations.read", reply=mediation_c.ConsultationReply)
    def get_consultation(self, request, principal, consultation_id):
        return json_response(_dump(self.mediation.get_consultation(consultation_id=consultation_id)))

    @route("POST", "/api/v1/consultations/{consultation_id}/ballots", "castBallot",
           "A resident votes for their household online; a community admin enters a paper ballot with a witness.",
           operation=MEDIATION_OPS["cast_ballot"],
           tags=("consultations",), permission="consultations.vote", body=BallotBody, reply=mediation_c.BallotReply,
           status=201, idempotent_key=True)
    def cast_ballot(self, request, principal: Principal, consultation_id):
        fields = read_body(request, BallotBody).model_dump(mode="json", exclude_unset=True)
        if principal.role == "resident":
            if fields.get("owner_id", principal.subject) != principal.subject:
                raise PermissionDenied("a resident key votes only as its own owner", {"field": "owner_id"})
            fields.update(owner_id=principal.subject, channel="online", actor=principal.subject)
        else:
            if not fields.get("owner_id"):
                raise ValidationFailed.for_field("owner_id", "name the owner whose paper ballot this is", "missing")
            fields.update(channel="paper", entered_by=principal.subject, actor=principal.subject)
        reply = self.mediation.cast_ballot(consultation_id=consultation_id, request_id=idempotency_key(request),
                                           **fields)
        return json_response(_dump(reply), 201)

    @route("GET", "/api/v1/league-table", "getLeagueTable", operation=EVALUATION_OPS["league_table"],
           tags=("evaluation",),
           permission="league.read", query=LeagueQuery, reply=evaluation_c.LeagueTableReply)
    def league_table(self, request, principal):
        query = read_query(request, LeagueQuery).model_dump(exclude_unset=True)
        return json_response(_dump(self.evaluation.league_table(**query)))

    # -- Open311 GeoReport v2 ---------------------------------------------------------------------

    def _jurisdiction(self, given: str | None) -> None:
        ours = self.options.open311.jurisdiction_id or self.district
        if given not in (None, "", ours):
            raise NotFound(f"unknown jurisdiction_id {given!r} (this endpoint serves {ours})",
                           {"entity": "jurisdiction", "id": given, "field": "jurisdiction_id"})

    def _categories(self) -> dict[str, ticketing_c.Category]:
        # Ticketing's catalogue changes only when its options do (a restart): one call a minute at most.
        return self.catalogue_cache.get(("categories",), lambda: {
            c.code: c for c in self.ticketing.catalogue().categories})

    @route("GET", "/open311/discovery.{format}", "open311Discovery", "GeoReport v2 discovery.", tags=("open311",),
           open311=True)
    def open311_discovery(self, request, principal, format):
        options = self.options
        # The configured public URL: the Host header is the client's to choose (cache poisoning).
        data = open311.discovery(options.base_url(), options.open311.contact, options.open311.key_service)
        return formatted(data, format, "discovery", None)

    @route("GET", "/open311/v2/services.{format}", "open311Services", "The service list (the ticket catalogue).",
           tags=("open311",), open311=True)
    def open311_services(self, request, principal, format):
        self._jurisdiction(request.args.get("jurisdiction_id"))
        data = [open311.service(c) for c in self._categories().values()]
        return formatted(data, format, "services", "service")

    @route("GET", "/open311/v2/services/{service_code}.{format}", "open311ServiceDefinition",
           "A service's definition: the attributes it takes.", tags=("open311",), open311=True)
    def open311_service_definition(self, request, principal, service_code, format):
        self._jurisdiction(request.args.get("jurisdiction_id"))
        category = self._categories().get(service_code)
        if category is None:
            raise NotFound.entity("service", service_code, "service_code")
        return formatted(open311.service_definition(category), format, "service_definition", None)

    @route("POST", "/open311/v2/requests.{format}", "open311PostRequest",
           "Create a service request (a ticket); answers its service_request_id.", tags=("open311",),
           open311=True, permission="tickets.submit", form_body=True, status=201, idempotent_key=True)
    def open311_post(self, request, principal: Principal, format):
        form = read_json(request) if request.mimetype == "application/json" else request.form.to_dict()
        if not isinstance(form, dict):
            raise BadRequest("the body must be a JSON object or a form")
        posted = open311.read_posted(form)
        self._jurisdiction(posted.jurisdiction_id)
        category = self._known_codes([posted.service_code])[posted.service_code]
        fields = open311.submit_fields(posted, principal, self.options.open311.public_reporter_id, self.registry,
                                       category.name_zh)
        reply = self.ticketing.submit(request_id=idempotency_key(request), **fields)
        ticket = reply.ticket
        data = [{"service_request_id": ticket.id,
                 "service_notice": f"Expected by {ticket.resolution_due_at.isoformat()}",
                 "account_id": ticket.resident_id}]
        return formatted(data, format, "service_requests", "request", 201)

    @route("GET", "/open311/v2/requests.{format}", "open311GetRequests",
           "Service requests, by id(s) or by service_code, dates and status (newest first).", tags=("open311",),
           open311=True, permission="tickets.read", query=open311.RequestsQuery)
    def open311_requests(self, request, principal: Principal, format):
        # A list argument may be comma-delimited, repeated, or both (GeoReport v2, GET Service Requests).
        args = {name: ",".join(request.args.getlist(name)) if name in LIST_ARGS else request.args.get(name)
                for name in open311.RequestsQuery.model_fields if name in request.args}
        query = parse(open311.RequestsQuery, args)
        self._jurisdiction(query.jurisdiction_id)
        categories = self._known_codes(query.service_codes())
        limit = self.options.open311.max_requests
        tickets = []
        if query.ids():
            for ticket_id in query.ids():
                try:
                    tickets.append(self._visible_ticket(principal, ticket_id).ticket)
                except (NotFound, ValidationFailed):  # not a ticket, or not one this key may see
                    continue
        else:
            tickets = self._tickets_in_window(principal, query, limit)
        photos = self._first_photos(tickets[:limit])
        data = [self._to_request(t, categories, photos) for t in tickets[:limit]]
        return formatted(data, format, "service_requests", "request")

    def _first_photos(self, tickets) -> dict[str, str]:
        return photos_routes.first_photo_urls(self.db, self.district, [t.id for t in tickets if not t.media_urls],
                                              self.options.base_url())

    def _to_request(self, ticket, categories, photos: dict[str, str]) -> dict:
        return open311.to_request(ticket, categories,
                                  addresses.written_out(self.registry, self.district, ticket.location),
                                  photos.get(ticket.id))

    def _known_codes(self, codes: list[str]) -> dict[str, ticketing_c.Category]:
        """The catalogue, after checking ``codes`` are in it: an unknown service_code is 404 (GeoReport v2)."""
        categories = self._categories()
        unknown = [code for code in codes if code not in categories]
        if unknown:
            raise NotFound.entity("service", ",".join(unknown), "service_code")
        return categories

    def _tickets_in_window(self, principal: Principal, query, limit: int) -> list:
        start, end = query.window(self.options.open311.default_days, utcnow())
        filters = {**ticket_filters(principal), "submitted_since": start, "submitted_until": end}
        codes = set(query.service_codes())
        if len(codes) == 1:
            filters["category"] = next(iter(codes))
        if query.redprop_statuses():
            filters["status"] = query.redprop_statuses()
        found, offset = [], 0
        while len(found) < limit:  # ticketing filters the window; several service codes are filtered here
            page = self.ticketing.list(limit=LIST_PAGE, offset=offset, viewer=principal.actor(), **filters)
            found += [t for t in page.tickets if not codes or t.category in codes]
            offset += len(page.tickets)
            if not page.tickets or offset >= page.total:
                break
        return found[:limit]

    @route("GET", "/open311/v2/requests/{service_request_id}.{format}", "open311GetRequest",
           "One service request.", tags=("open311",), open311=True, permission="tickets.read")
    def open311_request(self, request, principal: Principal, service_request_id, format):
        self._jurisdiction(request.args.get("jurisdiction_id"))
        ticket = self._visible_ticket(principal, service_request_id).ticket
        return formatted([self._to_request(ticket, self._categories(), self._first_photos([ticket]))], format,
                         "service_requests", "request")


def _action_entrypoint(action: str, permission: str, body, summary: str):
    def handler(self, request, principal, ticket_id):
        return self._ticket_action(request, principal, ticket_id, action)

    handler.__name__ = f"ticket_{action}"
    return route("POST", f"/api/v1/tickets/{{ticket_id}}/{action}", f"{action}Ticket", summary, tags=("tickets",),
                 permission=permission, body=body, reply=ticketing_c.TicketReply, idempotent_key=True)(handler)


for _action, (_permission, _body, _summary) in TICKET_ACTIONS.items():
    setattr(GatewayService, f"ticket_{_action}", _action_entrypoint(_action, _permission, _body, _summary))

workbench.install(GatewayService)  # the workbench's reads, after the routes above in the OpenAPI document
photos_routes.install(GatewayService)  # photos on tickets (issue 19)
participation_routes.install(GatewayService)  # points, turns, boards, activities (issue 17)
projects_routes.install(GatewayService)  # what residents see of projects (issue 18)
screens_routes.install(GatewayService)  # proposals, a complex's consultations, my vote (issue 19)
webapp.install(GatewayService)  # its files at /app/
