"""The role matrix: every operation of every service whose permit names a post, called by every kind of
person (a resident with no post, a resident holding three posts, one official per post, a person this
district's registry does not know). Those holding one of the permit's posts pass the permit; everyone
else is refused with ``permission_denied`` (``check`` = ``known`` or ``role``), before the operation runs.

Each call goes through the running service's own worker (nameko's ``entrypoint_hook``) with a request
that carries only its actor, so what is tested is the permit alone: whatever the operation says about
the rest of the request (not found, invalid, refused for the record's own rules) comes after it and
counts as passing the permit. The grants come from the real registry over the real broker.
"""

from __future__ import annotations

import pytest
from nameko.testing.services import entrypoint_hook
from pydantic import BaseModel

from redprop.contracts import all_contracts
from redprop.errors import PermissionDenied
from tests.conftest import OFFICIALS

pytestmark = pytest.mark.integration

SERVICES = ("registry", "ticketing", "evaluation", "mediation", "matching")
#: person -> the posts they hold in the small district (tests/conftest.py).
PEOPLE: dict[str, set[str]] = {
    "P2": set(),
    "P1": {"building_leader", "committee_member", "party_committee_member"},
    **{person: {role} for person, (role, _where) in OFFICIALS.items()},
    "P-GHOST": set(),  # not in this district's registry (a person of another district)
}


def guarded_operations() -> list[tuple[str, str]]:
    contracts = all_contracts()
    return [(service, name) for service in SERVICES for name, op in contracts[service].operations.items()
            if op.permit.roles]


def carrying_only(request_cls: type[BaseModel], path: str, person: str) -> BaseModel:
    """A request whose only content is the acting person at ``path`` (``actor``, ``actor.person_id``,
    ``voter`` — a property naming the owner)."""
    head, _, rest = path.partition(".")
    if head not in request_cls.model_fields:  # a property of the request, e.g. CastBallotRequest.voter
        return request_cls.model_construct(request_id="matrix-call-01", owner_id=person, entered_by=None)
    if not rest:
        return request_cls.model_construct(request_id="matrix-call-01", **{head: person})
    nested_cls = request_cls.model_fields[head].annotation
    if rest in nested_cls.model_fields:
        nested = nested_cls.model_construct(**{rest: person})
    else:  # a property naming the person, e.g. ticketing's Actor.person: a worker acting as themself
        nested = nested_cls.model_construct(kind="worker", id=person, person_id=None, handler_kind=None)
        assert getattr(nested, rest) == person, f"{nested_cls.__name__}.{rest} does not name the worker"
    return request_cls.model_construct(request_id="matrix-call-01", **{head: nested})


def outcome(container, name: str, request) -> str:
    """``refused`` by the permit, or ``passed`` it (whatever the operation then made of the request)."""
    try:
        with entrypoint_hook(container, name) as call:
            call(request)
    except PermissionDenied as exc:
        if exc.details.get("check") in ("known", "role"):
            return "refused"
    except Exception:  # noqa: BLE001 - the half-built request fails inside the operation: past the permit
        pass
    return "passed"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_every_guarded_operation_admits_exactly_the_posts_its_permit_names(run_suite, backend, small_district):
    suite = run_suite(*SERVICES, backend=backend)
    assert suite.rpc.registry.upsert(actor="P-DATA", records=small_district, request_id="matrix-load").applied
    contracts = all_contracts()
    wrong: list[str] = []
    for service, name in guarded_operations():
        op = contracts[service].operations[name]
        container = suite.container(service)
        for person, posts in PEOPLE.items():
            expected = "passed" if posts & set(op.permit.roles) else "refused"
            got = outcome(container, name, carrying_only(op.request, op.permit.actor, person))
            if got != expected:
                wrong.append(f"{service}.{name} by {person} ({', '.join(sorted(posts)) or 'no post'}): {got}, "
                             f"expected {expected}")
    assert not wrong, "\n".join(wrong)
    assert len(guarded_operations()) >= 45  # the matrix covers the services' commands, not a handful


def test_every_command_names_the_person_acting():
    """A command changes state, so someone answers for it: no command of any installed service is public."""
    public = [f"{service}.{name}" for service, contract in sorted(all_contracts().items())
              for name, op in contract.operations.items() if op.kind == "command" and op.permit.is_public]
    assert public == []


def test_a_command_without_its_actor_is_refused_naming_the_field(run_suite, small_district):
    suite = run_suite("registry", "evaluation")
    suite.rpc.registry.upsert(actor="P-DATA", records=small_district, request_id="matrix-load-2")
    op = all_contracts()["evaluation"].operations["close_period"]
    with pytest.raises(PermissionDenied) as refused:
        with entrypoint_hook(suite.container("evaluation"), "close_period") as call:
            call(op.request.model_construct(request_id="matrix-call-02"))
    assert refused.value.details == {"field": "actor", "rule": op.permit.rule, "check": "known"}
