import { describe, expect, test } from 'vitest'
import { currentDue, remaining, shownState } from './sla'

const base = {
  status: 'dispatched', sla_state: 'on_track' as const, responded_at: null,
  response_due_at: '2026-12-02T10:00:00Z', resolution_due_at: '2026-12-04T10:00:00Z',
}

describe('SLA countdown', () => {
  test('the response is due until someone answers, then the resolution', () => {
    expect(currentDue(base)?.kind).toBe('response')
    expect(currentDue({ ...base, status: 'in_progress', responded_at: '2026-12-02T09:00:00Z' })?.kind).toBe('resolution')
  })
  test('closed and cancelled tickets have no deadline', () => {
    expect(currentDue({ ...base, status: 'closed' })).toBeNull()
    expect(currentDue({ ...base, status: 'cancelled' })).toBeNull()
  })
  test('remaining time, and overdue past the deadline', () => {
    expect(remaining(new Date('2026-12-03T12:30:00Z'), new Date('2026-12-02T10:00:00Z'))).toEqual({ overdue: false, days: 1, hours: 2, minutes: 30 })
    expect(remaining(new Date('2026-12-02T10:00:00Z'), new Date('2026-12-02T10:45:00Z'))).toEqual({ overdue: true, days: 0, hours: 0, minutes: 45 })
  })
  test('a deadline passed since the last sweep shows breached; up to it, the server state', () => {
    expect(shownState(base, new Date('2026-12-02T10:00:00Z'))).toBe('on_track')
    expect(shownState(base, new Date('2026-12-02T10:00:01Z'))).toBe('breached')
    expect(shownState({ ...base, sla_state: 'at_risk' }, new Date('2026-12-02T09:00:00Z'))).toBe('at_risk')
  })
})
