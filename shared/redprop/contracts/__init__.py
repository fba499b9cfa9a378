"""The published contracts: one module per service, each exposing ``CONTRACT`` (a ServiceContract).

Services never import one another; they import these models. ``all_contracts()`` finds every module
here plus contracts that separately installed packages register under the ``redprop.contracts``
entry-point group.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from importlib.metadata import entry_points

from redprop.contracts.base import ServiceContract


def all_contracts() -> dict[str, ServiceContract]:
    found: dict[str, ServiceContract] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        contract = getattr(module, "CONTRACT", None)
        if isinstance(contract, ServiceContract):
            found[contract.service] = contract
    for ep in entry_points(group="redprop.contracts"):
        contract = ep.load()
        if isinstance(contract, ServiceContract):
            found[contract.service] = contract
    return found


def contract_for(service: str) -> ServiceContract | None:
    return all_contracts().get(service)


@functools.cache
def contract_major(service: str) -> int | None:
    """The major version of ``service``'s contract (what its replies and events say in
    ``schema_version``), or None for a service without one (a test's stand-in)."""
    contract = contract_for(service)
    return contract.major if contract is not None else None
