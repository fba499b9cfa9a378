// SLA display: the due times come from ticketing, already on China's working calendar (weekends and
// holidays excluded); here they are only counted down to, in wall-clock time, for the person looking.

export type SlaState = 'on_track' | 'at_risk' | 'breached'

export const OPEN_STATUSES = ['submitted', 'dispatched', 'in_progress', 'awaiting_resident']

export interface SlaTicket {
  status: string
  sla_state: SlaState
  response_due_at: string
  resolution_due_at: string
  responded_at?: string | null
  resolved_at?: string | null
}

/** The deadline that matters now: the response while nobody has answered, then the resolution. */
export function currentDue(t: SlaTicket): { kind: 'response' | 'resolution'; at: Date } | null {
  if (!OPEN_STATUSES.includes(t.status)) return null
  if (!t.responded_at && (t.status === 'submitted' || t.status === 'dispatched')) {
    return { kind: 'response', at: new Date(t.response_due_at) }
  }
  return { kind: 'resolution', at: new Date(t.resolution_due_at) }
}

/** Remaining (positive) or overdue (negative) time, as {sign, hours, minutes}. */
export function remaining(due: Date, now: Date): { overdue: boolean; days: number; hours: number; minutes: number } {
  let ms = due.getTime() - now.getTime()
  const overdue = ms < 0
  ms = Math.abs(ms)
  const minutesTotal = Math.floor(ms / 60000)
  return { overdue, days: Math.floor(minutesTotal / 1440), hours: Math.floor((minutesTotal % 1440) / 60), minutes: minutesTotal % 60 }
}

/** The state shown: the server's, but a deadline that passed since the last sweep shows breached. */
export function shownState(t: SlaTicket, now: Date): SlaState {
  const due = currentDue(t)
  if (due && due.at.getTime() < now.getTime()) return 'breached'
  return t.sla_state
}

export const SLA_TAG: Record<SlaState, 'success' | 'warning' | 'danger'> = {
  on_track: 'success', at_risk: 'warning', breached: 'danger',
}
