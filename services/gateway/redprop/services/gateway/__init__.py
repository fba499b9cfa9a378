"""The gateway: HTTP for people and apps, with no business logic (every answer comes from a service).

  service.py   entrypoints: REST, Open311 GeoReport v2, health, the OpenAPI document
  http.py      the web server on services.gateway.options.http_port, routes, the one error format
  auth.py      who is calling (key, session cookie, OIDC token), roles and what each role may do
  people.py    registry people and their posts, as gateway roles
  accounts.py  people's accounts (username, scrypt password hash); passwords.py the hashing
  sessions.py  login sessions (the redprop_session cookie); ratelimit.py failed logins
  keys.py      API keys in the gateway's database: expiry, rotation, revocation
  oidc.py      optional OIDC bearer JWTs against the issuer's JWKS
  models.py    the gateway's own tables (migrations/: its Alembic branch)
  options.py   services.gateway.options
  bodies.py    HTTP request bodies and query strings, derived from the contracts
  open311.py   GeoReport v2: tickets <-> service requests, JSON and XML
  openapi.py   the OpenAPI 3.1 document (docs/openapi.json), built from the route table
  cli.py       `redprop gateway accounts|keys|key|openapi`
"""
