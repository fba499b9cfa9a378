"""A community's rewards catalogue and the redemptions that spend a resident's points on it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from redprop.clock import new_id
from redprop.errors import Conflict, NotFound
from redprop.services.participation import ledger
from redprop.services.participation import models as m


def add(session: Session, district: str, community_id: str, name: str, cost: int, stock: int | None,
        now: datetime) -> str:
    reward_id = new_id()
    session.execute(m.rewards.insert().values(district=district, id=reward_id, community_id=community_id,
                                              name=name, cost=cost, stock=stock, created_at=now))
    return reward_id


def load(session: Session, district: str, reward_id: str):
    r = m.rewards
    row = session.execute(select(r).where(r.c.district == district, r.c.id == reward_id)).first()
    if row is None:
        raise NotFound.entity("reward", reward_id, "reward_id")
    return row


def list_rows(session: Session, district: str, community_id: str, limit: int, offset: int):
    r = m.rewards
    query = select(r).where(r.c.district == district, r.c.community_id == community_id)
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    return session.execute(query.order_by(r.c.cost, r.c.id).limit(limit).offset(offset)).all(), total


def redeem(session: Session, district: str, person_id: str, reward, quantity: int, now: datetime) -> tuple[str, int]:
    """Spend ``quantity`` x the reward's cost; the stock and the balance are each one conditional UPDATE, so
    concurrent redemptions never take more than there is. Returns (redemption id, points)."""
    r = m.rewards
    if reward.stock is not None:
        taken = session.execute(update(r).where(r.c.district == district, r.c.id == reward.id, r.c.stock >= quantity)
                                .values(stock=r.c.stock - quantity))
        if taken.rowcount != 1:
            raise Conflict(f"reward {reward.id} has fewer than {quantity} left", {"field": "quantity"})
    points = reward.cost * quantity
    redemption_id = new_id()
    ledger.spend(session, district, person_id, points, ledger.rewards_account(reward.community_id),
                 f"{quantity} x {reward.name}", f"redeem:{redemption_id}", now)
    session.execute(m.redemptions.insert().values(district=district, id=redemption_id, person_id=person_id,
                                                  reward_id=reward.id, quantity=quantity, points=points, at=now))
    return redemption_id, points
