"""Who may act, checked against the registry: committee members, reviewers, certifiers.

A company never reviews or certifies itself: neither the company as an organisation nor a person who
holds a post in it (a cross appointment, 交叉任职, puts the same person in both) may act on its rating.
"""

from __future__ import annotations

from redprop.contracts import evaluation as c
from redprop.contracts.registry import (
    COMMITTEE_KINDS,
    COMMITTEE_ROLES,
    COMPANY_ROLES,
    PARTY_COMMITTEE_ROLES,
)
from redprop.errors import NotFound, PermissionDenied, ValidationFailed


def organisation(registry, org_id: str, field: str):
    try:
        return registry.get(kind="organisation", id=org_id).record
    except NotFound:
        raise NotFound.entity("organisation", org_id, field) from None


def property_company(registry, company_id: str, field: str = "company_id"):
    org = organisation(registry, company_id, field)
    if org.org_kind != "property_company":
        raise ValidationFailed.for_field(field, f"{company_id} is a {org.org_kind}, not a property company")
    return org


def complex_record(registry, complex_id: str):
    try:
        return registry.get(kind="complex", id=complex_id).record
    except NotFound:
        raise NotFound.entity("complex", complex_id, "complex_id") from None


def committee_members(registry, committee_id: str, complex_id: str) -> set[str]:
    members: set[str] = set()
    for role in COMMITTEE_ROLES:
        for r in registry.list(kind="role", role=role, within=complex_id, limit=5000).items:
            if r.organisation_id == committee_id:
                members.add(r.person_id)
    return members


def check_committee(registry, committee_id: str, complex_id: str) -> None:
    org = organisation(registry, committee_id, "committee_id")
    if org.org_kind not in COMMITTEE_KINDS or org.scope_id != complex_id:
        raise ValidationFailed.for_field(
            "committee_id", f"{committee_id} is not the owners', self-management or property-management "
                            f"committee of complex {complex_id}")


def acts_for(authz, actor: c.Assessor, roles: tuple[str, ...], field: str = "actor") -> None:
    """The person holds one of ``roles`` in the organisation they say they act for (the permit checked
    that they hold the role somewhere; this checks where)."""
    if not any(g.organisation_id == actor.organisation_id for g in authz.posts(actor.person_id, roles)):
        raise PermissionDenied(f"{actor.person_id} holds no post ({', '.join(roles)}) in {actor.organisation_id}",
                               {"field": f"{field}.person_id", "check": "record"})


def check_not_self(authz, actor: c.Assessor, company_id: str, doing: str, field: str = "actor") -> None:
    if actor.organisation_id == company_id:
        raise PermissionDenied(f"a company cannot {doing} its own rating", {"field": f"{field}.organisation_id"})
    if any(g.organisation_id == company_id for g in authz.posts(actor.person_id, COMPANY_ROLES)):
        raise PermissionDenied(f"{actor.person_id} holds a post in {company_id} and cannot {doing} its rating",
                               {"field": f"{field}.person_id", "check": "record"})


def check_applicant(authz, actor: c.Assessor, company_id: str) -> None:
    if actor.organisation_id != company_id:
        raise PermissionDenied("the company applies and assesses itself: actor.organisation_id must be the company",
                               {"field": "actor.organisation_id"})
    acts_for(authz, actor, ("company_manager",))


def check_reviewer(registry, authz, actor: c.Assessor, company_id: str) -> None:
    check_not_self(authz, actor, company_id, "review")
    org = organisation(registry, actor.organisation_id, "actor.organisation_id")
    if org.org_kind != "community_party_committee":
        raise PermissionDenied(f"{org.id} is a {org.org_kind}; a community party committee reviews",
                               {"field": "actor.organisation_id"})
    served = [cx for cx in registry.list(kind="complex", within=org.scope_id, limit=5000).items
              if cx.property_company_id == company_id] if org.scope_id else []
    if not served:
        raise PermissionDenied(f"{company_id} serves no complex in the community of {org.id}",
                               {"field": "actor.organisation_id"})
    acts_for(authz, actor, PARTY_COMMITTEE_ROLES)


def check_certifier(registry, authz, actor: c.Assessor, company_id: str, doing: str = "certify") -> None:
    check_not_self(authz, actor, company_id, doing)
    org = organisation(registry, actor.organisation_id, "actor.organisation_id")
    if org.org_kind != "department" or org.department_function != "housing":
        raise PermissionDenied(f"{org.id} is not a housing department; the housing department {doing}s",
                               {"field": "actor.organisation_id"})
    acts_for(authz, actor, ("housing_officer",))
