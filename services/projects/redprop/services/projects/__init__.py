"""The projects service: funds per source and their ledger, projects from decision to result.

Where to look:
  funds.py       funds, allocations and draws: the conditional UPDATE that never overdraws, holds and releases
  approvals.py   who approves a held draw (community, subdistrict; two different people) and the law it cites
  actors.py      whose post covers a complex or a fund, read from the registry
  projects.py    projects, budget lines, milestones, status rules (hearing, post-evaluation), the timeline
  rollup.py      progress rolled up from sub-projects to projects and programmes, weighted by budget
  csvimport.py   a district's project list from CSV, every problem naming its row and field
  views.py       rows -> contract models
"""
