import { describe, expect, test } from 'vitest'
import { awaiting, mayDecide, reasonError, REASON_MAX, type ProposalRecord } from './matching'

const open = (over: Partial<ProposalRecord> = {}): ProposalRecord =>
  ({ id: 'PR1', status: 'proposed', offer_decision: null, need_decision: null, quantity: 60, unit: 'plant', ...over })

describe('a proposal row offers only the answers still awaited', () => {
  test('a new proposal awaits both sides', () => {
    expect(awaiting(open())).toEqual(['need', 'offer'])
    expect(mayDecide(open(), 'need')).toBe(true)
  })
  test('once the need side accepted, only the offer side is awaited', () => {
    const p = open({ need_decision: 'accept' })
    expect(awaiting(p)).toEqual(['offer'])
    expect(mayDecide(p, 'need')).toBe(false)
  })
  test('a declined or accepted proposal awaits nobody', () => {
    for (const status of ['declined', 'accepted', 'fulfilled', 'expired']) {
      expect(awaiting(open({ status }))).toEqual([])
      expect(mayDecide(open({ status }), 'offer')).toBe(false)
    }
  })
  test('a decline needs a reason, an accept does not', () => {
    expect(reasonError('decline', ' ')).toBe('required')
    expect(reasonError('decline', '已预留')).toBeNull()
    expect(reasonError('accept', '')).toBeNull()
    expect(reasonError('decline', '否')).toBeNull() // one character is a reason (matching 2.0: non-empty)
  })
  test('a reason over 500 characters is refused, as matching refuses it', () => {
    expect(REASON_MAX).toBe(500)
    expect(reasonError('decline', '理'.repeat(500))).toBeNull()
    expect(reasonError('decline', '理'.repeat(501))).toBe('too_long')
    expect(reasonError('accept', '理'.repeat(501))).toBe('too_long')
  })
})
