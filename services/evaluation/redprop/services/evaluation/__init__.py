"""The evaluation service: committee scorecards, ticket KPIs, star ratings, rubrics, league tables.

Where to look:
  periods.py     quarters in Asia/Shanghai time, and when they lock
  kpis.py        per-ticket KPI state from ticketing events, incremental totals, KPI rows
  rubrics.py     the ``evaluation.rubric`` extension point and the two shipped rubrics
  scoring.py     a rubric applied to evidence: points per item, adjustments, total, explanation
  scorecards.py  quarterly scorecards: submission, signatures, locking, corrections
  ratings.py     the star-rating workflow, negative events, certificates and the annual review
  league.py      league tables with the trend over quarters
"""
