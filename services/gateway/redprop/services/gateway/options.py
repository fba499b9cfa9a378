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


class GatewayOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    http_host: str = "0.0.0.0"
    http_port: int = Field(default=8080, ge=0, le=65535)
    api_keys: list[ApiKey] = Field(default_factory=list)
    open311: Open311Options = Field(default_factory=Open311Options)

    @model_validator(mode="after")
    def _unique_keys(self):
        hashes = [k.sha256 for k in self.api_keys]
        if len(set(hashes)) != len(hashes):
            raise ValueError("the same key hash is configured twice")
        return self
