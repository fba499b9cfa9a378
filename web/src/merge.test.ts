import { describe, expect, test } from 'vitest'
import { mergeCandidates, type TicketLike } from './merge'

const tk = (id: string, over: Partial<TicketLike> = {}): TicketLike =>
  ({ id, status: 'submitted', category: 'leak', location: { building_id: 'B1' }, ...over })

describe('the tickets a duplicate can be merged into', () => {
  test('never itself, nor a cancelled or already merged ticket', () => {
    const dup = tk('T1')
    const got = mergeCandidates(dup, [dup, tk('T2', { status: 'cancelled' }), tk('T3', { merged_into: 'T9' }), tk('T4')])
    expect(got.map((t) => t.id)).toEqual(['T4'])
  })
  test('the same place and category first, then the same place, then the rest', () => {
    const dup = tk('T1')
    const others = [
      tk('T2', { location: { building_id: 'B9' }, category: 'lift' }),
      tk('T3', { category: 'lift' }),
      tk('T4'),
      tk('T5', { location: { building_id: 'B9' } }),
    ]
    expect(mergeCandidates(dup, others).map((t) => t.id)).toEqual(['T4', 'T3', 'T5', 'T2'])
  })
  test('a ticket placed at a complex matches others at that complex', () => {
    const dup = tk('T1', { location: { complex_id: 'X1' } })
    const got = mergeCandidates(dup, [tk('T2'), tk('T3', { location: { complex_id: 'X1' } })])
    expect(got[0].id).toBe('T3')
  })
})
