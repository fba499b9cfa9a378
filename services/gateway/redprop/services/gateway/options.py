"""The gateway's settings: ``services.gateway.options`` in redprop.yaml.

    services:
      gateway:
        options:
          http_port: 8080
          api_keys:
            - {name: resident-app-P2, role: resident, subject: P2, district: "310101",
               sha256: 5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8}

Only hashes of keys are configured (``redprop gateway key`` makes a key and its hash).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from redprop.contracts.base import DistrictCode, Id

Role = Literal["resident", "grid_worker", "community_admin", "property_company", "department", "operator"]
ROLES: tuple[str, ...] = Role.__args__


class ApiKey(BaseModel):
    """One API key: who holds it, in which district, acting as whom."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    #: Hex SHA-256 of the key; the key itself is never stored.
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    role: Role
    district: DistrictCode
    #: Whom the key acts as: the resident's person id, the worker's id, the property company's or the
    #: department's organisation id. It is the ``actor`` of every command sent with the key.
    subject: Id
    #: A company's or department's key: the registry person it is issued to, who acts for the unit.
    person_id: Id | None = None


class Open311Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Shown in discovery.
    contact: str = "The district's community service centre"
    key_service: str = "Ask the district's operator for an API key"
    #: GeoReport's jurisdiction_id for this district (default: the district code).
    jurisdiction_id: str | None = None
    #: GET requests: at most this many requests per answer, and this many days when no date is given.
    #: The registry person that reports from anonymous Open311 apps stand for (None: account_id is required).
    public_reporter_id: Id | None = None
    max_requests: int = Field(default=1000, ge=1, le=10_000)
    default_days: int = Field(default=90, ge=1, le=3650)


class HttpLimits(BaseModel):
    """What one HTTP client may take of the gateway: the edge that keeps a hostile or broken client
    from stopping it (or, with ``run --all``, every service in the process)."""

    model_config = ConfigDict(extra="forbid")

    #: A request body larger than this is answered 413 before it is read.
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=64 * 1_048_576)
    #: JSON nested deeper than this is answered 400 (the contracts nest far less).
    max_json_depth: int = Field(default=32, ge=4, le=200)
    #: Open connections at most; at the cap the longest-open idle one is closed for a new one. It is
    #: also held to half the process's file-descriptor limit, so the brokers, databases and other
    #: services in the process always have descriptors left.
    max_connections: int = Field(default=1000, ge=4, le=100_000)
    #: Seconds a connection may wait for its next request (keep-alive and freshly opened alike).
    idle_timeout: float = Field(default=15, gt=0, le=3600)
    #: Seconds to receive a request's line and headers, and again its body (slow clients).
    request_timeout: float = Field(default=10, gt=0, le=3600)


class SessionOptions(BaseModel):
    """People's login sessions (``POST /api/v1/session``): the ``redprop_session`` cookie."""

    model_config = ConfigDict(extra="forbid")

    #: Seconds a session lasts at most from login.
    max_age: int = Field(default=12 * 3600, ge=60, le=30 * 86400)
    #: Seconds without a request after which a session ends.
    idle_timeout: int = Field(default=30 * 60, ge=30, le=86400)
    #: The cookie is sent over HTTPS only. None: when ``public_url`` is https.
    secure_cookie: bool | None = None


class LoginLimits(BaseModel):
    """Password guessing: failed logins allowed per username and per client address, in a window.
    Counted in each gateway replica's memory."""

    model_config = ConfigDict(extra="forbid")

    per_username: int = Field(default=5, ge=1, le=1000)
    per_address: int = Field(default=20, ge=1, le=100_000)
    #: Seconds the failures are counted over (and the longest Retry-After).
    window: int = Field(default=300, ge=1, le=86400)


class OidcOptions(BaseModel):
    """Optional login through the district's identity provider: a bearer JWT of ``issuer``, signed with a
    key of its JWKS (RS256 or ES256), whose ``person_claim`` is a registry person id."""

    model_config = ConfigDict(extra="forbid")

    #: The ``iss`` every token must carry, e.g. https://id.example.gov.cn/realms/huangpu.
    issuer: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    #: The ``aud`` every token must carry (the gateway's client id); None: not checked.
    audience: str | None = None
    #: The issuer's keys: a JWKS file, or its URL (``jwks_uri`` of the issuer's discovery document).
    jwks_file: str | None = None
    jwks_url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")] | None = None
    #: The claim holding the registry person id.
    person_claim: Annotated[str, StringConstraints(min_length=1, max_length=100)] = "sub"
    algorithms: list[Literal["RS256", "ES256"]] = Field(default_factory=lambda: ["RS256", "ES256"], min_length=1)
    #: Seconds the keys are kept before they are read again (an unknown ``kid`` reads them at once).
    jwks_ttl: float = Field(default=300, ge=0, le=86400)
    #: Seconds of clock difference allowed for ``exp`` and ``nbf``.
    leeway: int = Field(default=30, ge=0, le=600)

    # -- login in the app (authorisation-code flow with PKCE; the gateway is a confidential client) --
    #: The gateway's client id at the identity provider; None: no login button, bearer tokens only.
    #: The id_token's ``aud`` must be it.
    client_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    #: The client secret is never a setting: it is read from this environment variable (not ``REDPROP_*``:
    #: those name settings), or from a file (e.g. a mounted Secret), which wins when given.
    client_secret_env: str = "OIDC_CLIENT_SECRET"
    client_secret_file: str | None = None
    #: The provider's endpoints; None: read from ``<issuer>/.well-known/openid-configuration``.
    authorization_endpoint: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")] | None = None
    token_endpoint: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")] | None = None
    scopes: list[Annotated[str, StringConstraints(pattern=r"^[!#-\[\]-~]+$")]] = Field(
        default_factory=lambda: ["openid"], min_length=1)
    #: The callback's path under ``public_url``: register ``<public_url><redirect_path>`` at the provider.
    redirect_path: Annotated[str, StringConstraints(pattern=r"^/[A-Za-z0-9/._-]*$")] = "/api/v1/session/oidc/callback"
    #: The button's label: "Log in with <display_name>" (None: the app's own "unified identity" wording).
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=60)] | None = None
    #: Seconds a person has to finish logging in at the provider (the state, nonce and PKCE verifier).
    login_ttl: int = Field(default=600, ge=30, le=3600)

    @model_validator(mode="after")
    def _one_source(self):
        if (self.jwks_file is None) == (self.jwks_url is None):
            raise ValueError("give exactly one of jwks_file and jwks_url")
        return self


class S3Options(BaseModel):
    """The ``s3`` photo store (``plugins: {gateway.photo_store: s3}``): one bucket of an S3-compatible server
    (MinIO, Ceph, OSS, COS, AWS). The access key is never a setting: it is read from the environment (or from
    files, e.g. a mounted Secret), so it is never in redprop.yaml, a log or ``config --show``."""

    model_config = ConfigDict(extra="forbid")

    #: The server, e.g. http://minio.storage:9000; None: AWS's own endpoint for ``region``.
    endpoint_url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")] | None = None
    #: The bucket (made beforehand: the gateway never creates one). S3's naming rules.
    bucket: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    #: Put before each photo's key, e.g. ``310101/photos/`` to share a bucket between districts.
    prefix: Annotated[str, StringConstraints(pattern=r"^([A-Za-z0-9._-]+/)*$", max_length=200)] = ""
    region: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,50}$")] = "us-east-1"
    #: ``path`` (http://server/bucket/key) for MinIO and most on-premises servers; ``virtual`` for AWS.
    addressing_style: Literal["path", "virtual"] = "path"
    #: Environment variables holding the access key id and secret (not ``REDPROP_*``: those name settings,
    #: and redprop refuses one that names none).
    access_key_id_env: str = "PHOTOS_S3_ACCESS_KEY_ID"
    secret_access_key_env: str = "PHOTOS_S3_SECRET_ACCESS_KEY"
    #: Or files holding them (e.g. a Kubernetes Secret mounted as a volume); a file, when given, wins.
    access_key_id_file: str | None = None
    secret_access_key_file: str | None = None
    #: Seconds to connect and to wait for an answer; attempts per request (botocore's standard retries).
    connect_timeout: float = Field(default=5, gt=0, le=120)
    read_timeout: float = Field(default=20, gt=0, le=600)
    max_attempts: int = Field(default=3, ge=1, le=10)
    #: Verify the server's TLS certificate (https endpoints); a CA bundle file for a private CA.
    ca_bundle: str | None = None


class PhotoOptions(BaseModel):
    """Photos on tickets (``POST /api/v1/tickets/{id}/photos``): what one may be, and where the default
    store (``plugins: {gateway.photo_store: filesystem}``) keeps them."""

    model_config = ConfigDict(extra="forbid")

    #: A photo larger than this (after its metadata is removed, and as sent) is answered 413.
    max_bytes: int = Field(default=5 * 1_048_576, ge=1024, le=50 * 1_048_576)
    #: Photos one ticket may carry (a phone's picker shows nine at once).
    max_per_ticket: int = Field(default=9, ge=1, le=100)
    #: The filesystem store's folder; None: ``<data_dir>/<district>/photos``.
    path: str | None = None
    #: Seconds a browser may keep a photo it was shown (``Cache-Control: private``: never a shared cache).
    cache_seconds: int = Field(default=3600, ge=0, le=86400 * 30)
    #: The ``s3`` store's bucket and server; required when that store is chosen.
    s3: S3Options | None = None


class GatewayOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    http_host: str = "0.0.0.0"
    http_port: int = Field(default=8080, ge=0, le=65535)
    #: The address clients reach the gateway at (behind the ingress), e.g. https://311.example.gov.cn;
    #: Open311 discovery announces it. Never taken from a request's Host header, which the client
    #: chooses. None: http://<http_host>:<http_port> (127.0.0.1 for a wildcard host), for local use.
    public_url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")] | None = None
    http: HttpLimits = Field(default_factory=HttpLimits)
    #: Keys configured here work as they are (the seed and migration path); keys made with
    #: ``redprop gateway keys add`` live in the gateway's database, with expiry and revocation.
    api_keys: list[ApiKey] = Field(default_factory=list)
    sessions: SessionOptions = Field(default_factory=SessionOptions)
    login_limits: LoginLimits = Field(default_factory=LoginLimits)
    #: None: no OIDC; people log in with accounts (``redprop gateway accounts``).
    oidc: OidcOptions | None = None
    #: Seconds the gateway keeps what it looked up about a key or a person (the registry's roles, a
    #: key's revocation): a revoked key stops working within this time, without a restart.
    auth_cache_ttl: float = Field(default=5.0, ge=0, le=300)
    #: Seconds the registry's roles are kept (a new or ended post shows in a session within this time).
    roles_cache_ttl: float = Field(default=30.0, ge=0, le=3600)
    open311: Open311Options = Field(default_factory=Open311Options)
    photos: PhotoOptions = Field(default_factory=PhotoOptions)

    @model_validator(mode="after")
    def _unique_keys(self):
        hashes = [k.sha256 for k in self.api_keys]
        if len(set(hashes)) != len(hashes):
            raise ValueError("the same key hash is configured twice")
        return self

    def secure_cookie(self) -> bool:
        if self.sessions.secure_cookie is not None:
            return self.sessions.secure_cookie
        return bool(self.public_url and self.public_url.startswith("https://"))

    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.http_host in ("0.0.0.0", "", "::") else self.http_host
        return f"http://{host}:{self.http_port}"
