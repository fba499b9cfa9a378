"""The gateway: HTTP for people and apps, with no business logic (every answer comes from a service).

  service.py   entrypoints: REST, Open311 GeoReport v2, health, the OpenAPI document
  http.py      the web server on services.gateway.options.http_port, routes, the one error format
  auth.py      API keys per district, roles and what each role may do
  options.py   services.gateway.options
  bodies.py    HTTP request bodies and query strings, derived from the contracts
  open311.py   GeoReport v2: tickets <-> service requests, JSON and XML
  openapi.py   the OpenAPI 3.1 document (docs/openapi.json), built from the route table
  cli.py       `redprop gateway key|openapi`
"""
