"""The participation service: activities and turns, micro-points, party members' commitments, reporting units.

Where to look:
  periods.py      Beijing years and months
  actors.py       who may act, checked against the registry (organisers, party members, reporters)
  activities.py   activities, sign-up, check-in, turns and their totals
  earning.py      the ``participation.earning`` extension point and the standard rules
  ledger.py       the double-entry micro-points ledger: earning once per fact, spending without overdraft, expiry
  rewards.py      a community's rewards catalogue and redemptions
  commitments.py  pledges, the three posts, tasks for pledgers and reporting units
  board.py        a community's public board
  views.py        rows -> contract models
"""
