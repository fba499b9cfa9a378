"""Funds, allocations and draws. Money is integer fen.

A draw takes its amount out of the balance with one conditional UPDATE (``... WHERE balance >= :amount``):
the database decides between concurrent draws, so a fund never goes below zero, whatever the isolation
level and on SQLite too. A draw held for approval leaves the balance at once (``held``); approval moves it
to ``drawn``, refusal gives it back with a ``release`` movement.
"""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from redprop.clock import new_id
from redprop.errors import Conflict, NotFound, ValidationFailed
from redprop.services.projects.actors import Place
from redprop.services.projects.models import allocations, funds, movements

#: Funds that belong to one complex.
PER_COMPLEX = ("quality_improvement", "emergency_repair", "maintenance")


def create(session: Session, district: str, request, place: Place, now) -> None:
    if request.kind in PER_COMPLEX and place.complex_id is None:
        raise ValidationFailed.for_field("scope_id", f"a {request.kind} fund belongs to one complex; "
                                                     f"{request.scope_id} is a region")
    f = funds.c
    if session.execute(select(f.id).where(f.district == district, f.id == request.id)).first() is not None:
        raise Conflict(f"fund {request.id} exists", {"field": "id"})
    if request.kind == "emergency_repair" and session.execute(select(f.id).where(
            f.district == district, f.complex_id == place.complex_id, f.kind == "emergency_repair")).first():
        raise Conflict(f"complex {place.complex_id} already has an emergency repair fund", {"field": "scope_id"})
    session.execute(insert(funds).values(
        district=district, id=request.id, kind=request.kind, name=request.name, scope_id=request.scope_id,
        complex_id=place.complex_id, community_id=place.community_id, subdistrict_id=place.subdistrict_id,
        balance=0, allocated=0, drawn=0, held=0, created_at=now))


def load(session: Session, district: str, fund_id: str, field: str = "fund_id"):
    f = funds.c
    row = session.execute(select(funds).where(f.district == district, f.id == fund_id)).first()
    if row is None:
        raise NotFound.entity("fund", fund_id, field)
    return row


def emergency_fund_of(session: Session, district: str, complex_id: str):
    f = funds.c
    row = session.execute(select(funds).where(f.district == district, f.complex_id == complex_id,
                                              f.kind == "emergency_repair")).first()
    if row is None:
        raise NotFound(f"complex {complex_id} has no emergency repair fund", {"entity": "fund", "field": "complex_id"})
    return row


def chain_of(fund, district: str) -> frozenset[str]:
    """The places a post must cover to act on this fund."""
    return frozenset(x for x in (fund.scope_id, fund.complex_id, fund.community_id, fund.subdistrict_id, district)
                     if x)


def _movement(session: Session, district: str, fund_id: str, kind: str, amount: int, balance_after: int, *,
              year: int, actor: str, now, purpose: str, status: str | None = None, serves=None,
              legal_basis: str | None = None) -> str:
    movement_id = new_id()
    session.execute(insert(movements).values(
        district=district, id=movement_id, fund_id=fund_id, kind=kind, amount=amount, status=status, year=year,
        serves_kind=serves.kind if serves else None, serves_id=serves.id if serves else None, purpose=purpose,
        legal_basis=legal_basis, actor=actor, at=now, balance_after=balance_after))
    return movement_id


def allocate(session: Session, district: str, fund_id: str, year: int, amount: int, purpose: str, actor: str,
             now) -> str:
    f, a = funds.c, allocations.c
    balance = session.execute(update(funds).where(f.district == district, f.id == fund_id).values(
        balance=f.balance + amount, allocated=f.allocated + amount).returning(f.balance)).scalar_one()
    added = session.execute(update(allocations).where(a.district == district, a.fund_id == fund_id, a.year == year)
                            .values(amount=a.amount + amount))
    if added.rowcount == 0:
        session.execute(insert(allocations).values(district=district, fund_id=fund_id, year=year, amount=amount))
    return _movement(session, district, fund_id, "allocation", amount, balance, year=year, actor=actor, now=now,
                     purpose=purpose or f"{year} allocation")


def draw(session: Session, district: str, fund, amount: int, *, held: bool, serves, purpose: str, actor: str,
         year: int, now, legal_basis: str | None = None) -> str:
    """Take ``amount`` out of the fund, or refuse: the one conditional UPDATE (see the module's docstring)."""
    f = funds.c
    taken = update(funds).where(f.district == district, f.id == fund.id, f.balance >= amount)
    taken = taken.values(balance=f.balance - amount, held=f.held + amount) if held else \
        taken.values(balance=f.balance - amount, drawn=f.drawn + amount)
    balance = session.execute(taken.returning(f.balance)).scalar_one_or_none()
    if balance is None:
        now_balance = load(session, district, fund.id).balance
        raise Conflict(f"fund {fund.id} holds {now_balance} fen, less than the {amount} fen asked; the draw is refused",
                       {"field": "amount", "fund_id": fund.id, "balance": now_balance, "amount": amount})
    return _movement(session, district, fund.id, "draw", amount, balance, year=year, actor=actor, now=now,
                     purpose=purpose, status="pending_approval" if held else "paid", serves=serves,
                     legal_basis=legal_basis)


def load_movement(session: Session, district: str, movement_id: str, field: str = "movement_id"):
    m = movements.c
    row = session.execute(select(movements).where(m.district == district, m.id == movement_id)).first()
    if row is None:
        raise NotFound.entity("movement", movement_id, field)
    return row


def settle_hold(session: Session, district: str, movement, paid: bool, actor: str, now) -> str | None:
    """A held draw approved (paid) or refused (its amount back, with a release movement)."""
    m, f = movements.c, funds.c
    # Conditional too: of two concurrent decisions on one hold, one settles it and the other is a conflict.
    decided = session.execute(update(movements).where(
        m.district == district, m.id == movement.id, m.status == "pending_approval").values(
        status="paid" if paid else "refused"))
    if decided.rowcount == 0:
        raise Conflict(f"draw {movement.id} is no longer awaiting approval", {"field": "movement_id"})
    if paid:
        session.execute(update(funds).where(f.district == district, f.id == movement.fund_id).values(
            held=f.held - movement.amount, drawn=f.drawn + movement.amount))
        return None
    balance = session.execute(update(funds).where(f.district == district, f.id == movement.fund_id).values(
        held=f.held - movement.amount, balance=f.balance + movement.amount).returning(f.balance)).scalar_one()
    serves = SimpleNamespace(kind=movement.serves_kind, id=movement.serves_id) if movement.serves_kind else None
    return _movement(session, district, movement.fund_id, "release", movement.amount, balance, year=movement.year,
                     actor=actor, now=now, purpose=f"refused draw {movement.id} given back",
                     serves=serves)
