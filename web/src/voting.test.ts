import { describe, expect, test } from 'vitest'
import { ballotHousehold, figure, homesState, onlyConsultation, voteState, type MyComplex, type MyVote } from './voting'

const H = [{ household_id: 'H1', unit: '1-101', area_m2: '88.50' }, { household_id: 'H2', unit: '1-102', area_m2: '120.00' }]

describe("an owner's vote on the phone", () => {
  test('a person owning no part in the complex is told why they cannot vote', () => {
    expect(voteState({ households: [], ballot: null, why_not: 'not_owner' })).toBe('not_owner')
    expect(ballotHousehold({ households: [], ballot: null, why_not: 'not_owner' })).toBeNull()
  })
  test('an owner may vote while it is open, and sees their ballot once cast', () => {
    expect(voteState({ households: H, ballot: null, why_not: null })).toBe('may_vote')
    expect(voteState({ households: H, ballot: { option: 'agree', cast_at: '2026-12-02T10:00:00Z' }, why_not: null })).toBe('voted')
  })
  test('a closed consultation takes no ballot, whoever asks', () => {
    expect(voteState({ households: H, ballot: null, why_not: 'not_open' } as MyVote)).toBe('not_open')
  })
  test("the ballot names one of the person's parts", () => {
    expect(ballotHousehold({ households: H, ballot: null, why_not: null })).toBe('H1')
  })
  test('a participation figure reads part / whole (percent)', () => {
    expect(figure({ part: '208.50', whole: '268.75', percent: '77.5814' })).toBe('208.50 / 268.75 (77.58%)')
    expect(figure({ part: '1', whole: '3', percent: 33.333 })).toBe('1 / 3 (33.33%)')
  })
})

describe('the vote screen finds the owner\'s complexes itself', () => {
  const c = (id: string, ids: string[]): MyComplex => ({ complex: { id, name: id }, households: H,
    consultations: ids.map((x) => ({ id: x, question: x, closes_at: '2026-12-03T10:00:00Z', state: 'open' })) })
  test('no home on record, homes with nothing open, or something to vote on', () => {
    expect(homesState([])).toBe('no_homes')
    expect(homesState([c('X1', []), c('X2', [])])).toBe('none_open')
    expect(homesState([c('X1', []), c('X2', ['K1'])])).toBe('some')
  })
  test('a single consultation opens at once; several are listed by complex', () => {
    expect(onlyConsultation([c('X1', []), c('X2', ['K1'])])).toBe('K1')
    expect(onlyConsultation([c('X1', ['K1']), c('X2', ['K2'])])).toBeNull()
    expect(onlyConsultation([])).toBeNull()
  })
})
