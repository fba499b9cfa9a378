"""The micro-points ledger: double entry per district.

Every transaction moves points between accounts and its entries sum to zero: earning debits ``issued``
and credits ``person:<id>``; spending debits the person and credits ``rewards:<community>``; expiry
debits the person and credits ``expired``. A transaction's ``source`` (the event, turn or redemption it
answers) is unique, so a fact seen twice moves points once. A batch of facts (what a batch of events
earns) is posted at once by :func:`earn_many`. A person's account never goes below zero: the debit is one
conditional UPDATE (``balance >= n``), which concurrent spenders queue on, so no interleaving overdraws it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from redprop.clock import new_id
from redprop.db.upsert import upsert
from redprop.errors import Conflict
from redprop.services.participation import models as m
from redprop.services.participation.earning import Award
from redprop.services.participation.periods import this_year

ISSUED = "issued"
EXPIRED = "expired"


def person_account(person_id: str) -> str:
    return f"person:{person_id}"


def rewards_account(community_id: str) -> str:
    return f"rewards:{community_id}"


def _add(session: Session, district: str, account: str, amount: int) -> None:
    a = m.accounts
    session.execute(upsert(session, a, ("district", "account"),
                           update=lambda new: {"balance": a.c.balance + new.balance}),
                    {"district": district, "account": account, "balance": amount})


def _open(session: Session, district: str, kind: str, reason: str, source: str, at: datetime) -> str | None:
    """The transaction's row, or None if its source was posted before (a fact moves points once)."""
    txn = new_id()
    result = session.execute(upsert(session, m.transactions, ("district", "source")),
                             {"district": district, "id": txn, "kind": kind, "reason": reason[:200],
                              "source": source, "at": at})
    return txn if result.rowcount == 1 else None


def _posted(session: Session, district: str, source: str) -> bool:
    t = m.transactions
    return session.execute(select(t.c.id).where(t.c.district == district, t.c.source == source)).first() is not None


def _entries(session: Session, district: str, txn: str, at: datetime, legs: list[tuple[str, int]]) -> None:
    assert sum(amount for _, amount in legs) == 0, legs  # double entry
    year = this_year(at)
    session.execute(m.entries.insert(), [{"district": district, "transaction_id": txn, "account": account,
                                          "amount": amount, "year": year, "at": at} for account, amount in legs])


def earn(session: Session, district: str, award: Award, source: str, at: datetime) -> bool:
    """Credit an award once per ``source``; False if that source already earned."""
    return earn_many(session, district, [(award, source, at)])[0]


def earn_many(session: Session, district: str,
              awards_with_sources: Iterable[tuple[Award, str, datetime]]) -> list[bool]:
    """Credit each ``(award, source, at)`` once per source; per item, whether it earned now.

    Three statements for the whole batch, whatever its size (each sent in pages of 1,000 rows, so a batch
    of more than 500 facts takes a page more): one INSERT ... ON CONFLICT DO NOTHING RETURNING of the
    transactions (a source posted before, or by a concurrent consumer, returns nothing and moves nothing),
    one multi-row INSERT of the new transactions' entries, and one upsert adding each account's net change
    to its balance (each account once, in key order, so concurrent batches lock them in the same order).
    A source twice in one batch earns on its first item only; an award of no points earns nothing."""
    items = list(awards_with_sources)
    first: dict[str, int] = {}  # source -> index of the item that may earn it
    for k, (award, source, _at) in enumerate(items):
        if award.points > 0:
            first.setdefault(source, k)
    if not first:
        return [False] * len(items)
    t = m.transactions
    rows = [{"district": district, "id": new_id(), "kind": "earn", "reason": items[k][0].rule[:200],
             "source": source, "at": items[k][2]} for source, k in first.items()]
    posted = upsert(session, t, ("district", "source")).returning(t.c.id, t.c.source)
    new = {source: txn for txn, source in session.execute(posted, rows)}
    if not new:
        return [False] * len(items)
    entries, deltas = [], defaultdict(int)
    for source, txn in new.items():
        award, _source, at = items[first[source]]
        account, year = person_account(award.person_id), this_year(at)
        entries += [{"district": district, "transaction_id": txn, "account": ISSUED, "amount": -award.points,
                     "year": year, "at": at},
                    {"district": district, "transaction_id": txn, "account": account, "amount": award.points,
                     "year": year, "at": at}]  # double entry: the two legs sum to zero
        deltas[ISSUED] -= award.points
        deltas[account] += award.points
    session.execute(m.entries.insert(), entries)
    _add_many(session, district, deltas)
    return [source in new and first[source] == k for k, (_award, source, _at) in enumerate(items)]


def _add_many(session: Session, district: str, deltas: dict[str, int]) -> None:
    """Add each account's net change to its balance in one upsert, opening accounts not seen before."""
    a = m.accounts
    # Rows as parameters, not ``.values(rows)``, so the statement is compiled once and cached; RETURNING
    # makes SQLAlchemy send them as multi-row INSERTs ("insertmanyvalues", 1,000 rows a statement) where
    # psycopg2 would otherwise run one statement per row.
    session.execute(upsert(session, a, ("district", "account"),
                           update=lambda new: {"balance": a.c.balance + new.balance}).returning(a.c.account),
                    [{"district": district, "account": account, "balance": deltas[account]}
                     for account in sorted(deltas)])


def _debit(session: Session, district: str, account: str, points: int) -> bool:
    a = m.accounts
    result = session.execute(update(a).where(a.c.district == district, a.c.account == account,
                                             a.c.balance >= points).values(balance=a.c.balance - points))
    return result.rowcount == 1


def spend(session: Session, district: str, person_id: str, points: int, to_account: str, reason: str,
          source: str, at: datetime) -> None:
    """Debit the person, refusing an overdraft (``conflict`` naming the balance)."""
    account = person_account(person_id)
    if not _debit(session, district, account, points):
        raise Conflict(f"{person_id} has {balance(session, district, person_id)} points, fewer than the {points} "
                       f"this costs", {"field": "quantity", "balance": balance(session, district, person_id)})
    txn = _open(session, district, "spend", reason, source, at)
    if txn is None:  # the source is a fresh redemption id, so this is a bug, not a retry
        raise Conflict(f"{source} was already spent", {"source": source})
    _entries(session, district, txn, at, [(account, -points), (to_account, points)])
    _add(session, district, to_account, points)


def balance(session: Session, district: str, person_id: str) -> int:
    a = m.accounts
    value = session.execute(select(a.c.balance).where(a.c.district == district,
                                                      a.c.account == person_account(person_id))).scalar()
    return int(value or 0)


def explain(session: Session, district: str, person_id: str, limit: int):
    """(balance, earned, spent, expired, entries newest first, number of entries); the balance is the sum of
    the account's entries, not a separate figure."""
    e, t = m.entries, m.transactions
    account = person_account(person_id)
    joined = e.join(t, and_(t.c.district == e.c.district, t.c.id == e.c.transaction_id))
    sums = dict(session.execute(select(t.c.kind, func.sum(e.c.amount)).select_from(joined)
                                .where(e.c.district == district, e.c.account == account).group_by(t.c.kind)).all())
    count = session.execute(select(func.count()).select_from(e).where(e.c.district == district,
                                                                      e.c.account == account)).scalar_one()
    rows = session.execute(select(e.c.transaction_id, e.c.amount, e.c.at, t.c.kind, t.c.reason, t.c.source)
                           .select_from(joined).where(e.c.district == district, e.c.account == account)
                           .order_by(e.c.at.desc(), e.c.transaction_id).limit(limit)).all()
    earned, spent, expired = (int(sums.get(k) or 0) for k in ("earn", "spend", "expire"))
    return earned + spent + expired, earned, -spent, -expired, rows, count


def expire(session: Session, district: str, year: int, at: datetime) -> tuple[int, int]:
    """Expire what is left of the points earned in ``year`` and before. Spending uses the oldest points
    first, so what is left of them is the balance less what was earned after ``year`` (never below 0).
    Once per person and year. Returns (people, points)."""
    a, e, t = m.accounts, m.entries, m.transactions
    later = (select(e.c.account, func.sum(e.c.amount).label("later"))
             .select_from(e.join(t, and_(t.c.district == e.c.district, t.c.id == e.c.transaction_id)))
             .where(e.c.district == district, e.c.year > year, t.c.kind == "earn", e.c.account.like("person:%"))
             .group_by(e.c.account))
    later_by = dict(session.execute(later).all())
    people = points = 0
    holders = session.execute(select(a.c.account, a.c.balance).where(
        a.c.district == district, a.c.account.like("person:%"), a.c.balance > 0)).all()
    for account, held in holders:
        amount = held - int(later_by.get(account) or 0)
        if amount <= 0:
            continue
        source = f"expire:{year}:{account}"
        if _posted(session, district, source) or not _debit(session, district, account, amount):
            continue
        txn = _open(session, district, "expire", f"points of {year} and before expired", source, at)
        if txn is None:
            raise Conflict(f"{source} expired twice at once", {"source": source})
        _entries(session, district, txn, at, [(account, -amount), (EXPIRED, amount)])
        _add(session, district, EXPIRED, amount)
        people, points = people + 1, points + amount
    return people, points
