"""Registry people and their posts, as the gateway's access roles.

A session (or a JWT) stands for a person of the registry. What the person may do at the gateway follows
from the posts the registry gives them today (``registry.list kind=role``): the strongest post decides
the gateway role, and, for a company's or a department's staff, the organisation they act for.
"""

from __future__ import annotations

from dataclasses import dataclass

from redprop.contracts.registry import COMPANY_ROLES, WORKER_ROLES
from redprop.errors import NotFound

#: Registry posts -> gateway role, strongest first (a person with several posts gets the first that fits).
ROLE_ORDER: tuple[tuple[str, frozenset[str]], ...] = (
    ("operator", frozenset({"operator"})),
    ("community_admin", frozenset({"community_worker", "subdistrict_officer", "district_officer"})),
    ("grid_worker", frozenset(WORKER_ROLES) - {"community_worker"}),
    ("property_company", frozenset(COMPANY_ROLES)),
    ("department", frozenset({"department_contact", "housing_officer"})),
)
#: Gateway roles that act for an organisation (the handler of a ticket), not for the person.
ORGANISATION_ROLES = frozenset({"property_company", "department"})
ROLES_PAGE = 5000


@dataclass(frozen=True)
class Post:
    role: str
    organisation_id: str | None
    scope_id: str | None

    def as_dict(self) -> dict:
        return {"role": self.role, "organisation_id": self.organisation_id, "scope_id": self.scope_id}


@dataclass(frozen=True)
class Person:
    person_id: str
    name: str
    posts: tuple[Post, ...]

    def access(self) -> tuple[str, str]:
        """(gateway role, subject): whom this person acts as at the gateway."""
        kinds = {post.role for post in self.posts}
        for role, posts in ROLE_ORDER:
            if not kinds & posts:
                continue
            if role not in ORGANISATION_ROLES:
                return role, self.person_id
            org = next((p.organisation_id for p in self.posts if p.role in posts and p.organisation_id), None)
            if org is not None:  # a company post without its company acts for nobody: try the next
                return role, org
        return "resident", self.person_id


def role_map(registry) -> dict[str, tuple[Post, ...]]:
    """Every active post of the district, by person (one or a few pages of ``registry.list``)."""
    posts: dict[str, list[Post]] = {}
    offset = 0
    while True:
        page = registry.list(kind="role", limit=ROLES_PAGE, offset=offset)
        for record in page.items:
            posts.setdefault(record.person_id, []).append(
                Post(role=record.role, organisation_id=record.organisation_id, scope_id=record.scope_id))
        offset += len(page.items)
        if not page.items or offset >= page.total:
            break
    return {person: tuple(items) for person, items in posts.items()}


def person_name(registry, person_id: str) -> str | None:
    """The person's name, None if the registry does not know them."""
    try:
        return registry.get(kind="person", id=person_id).record.name
    except NotFound:
        return None
