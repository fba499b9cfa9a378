// An owner's part in a consultation as the mobile page shows it. The gateway's my-vote answer carries
// the owner's households in the complex and their effective ballot; mediation decides who may vote (the
// consultation's electorate snapshot) and counts one ballot per voting person (a later one supersedes).

export type VoteState = 'not_owner' | 'not_open' | 'voted' | 'may_vote'

export interface MyVote {
  households: { household_id: string; unit: string; area_m2: string }[]
  ballot: { option: string; cast_at: string } | null
  why_not: 'not_owner' | 'not_open' | null
}

export function voteState(mine: MyVote): VoteState {
  if (mine.why_not === 'not_owner') return 'not_owner'
  if (mine.why_not === 'not_open') return 'not_open'
  return mine.ballot ? 'voted' : 'may_vote'
}

/** The household the ballot is cast for: any of the person's parts (the ballot is the person's, for all). */
export function ballotHousehold(mine: MyVote): string | null {
  return mine.households[0]?.household_id ?? null
}

export interface Ratio { part: string; whole: string; percent: string | number }

/** "12 / 18 (66.67%)": a participation figure as a person reads it. */
export function figure(r: Ratio): string {
  return `${r.part} / ${r.whole} (${Number(r.percent).toFixed(2)}%)`
}

/** The gateway's answer to GET /my/consultations: where the person owns a part, and those complexes'
 * consultations. The registry's households decide, so the screen never asks for a complex. */
export interface MyComplex {
  complex: { id: string; name: string }
  households: { household_id: string; unit: string; area_m2: string }[]
  consultations: { id: string; question: string; closes_at: string; state: string }[]
}

export type HomesState = 'no_homes' | 'none_open' | 'some'

/** What the vote screen says first: no home on record, homes but nothing to vote on, or the list. */
export function homesState(complexes: MyComplex[]): HomesState {
  if (!complexes.length) return 'no_homes'
  return complexes.some((c) => c.consultations.length) ? 'some' : 'none_open'
}

/** The one consultation to open at once, when the person has exactly one to take part in. */
export function onlyConsultation(complexes: MyComplex[]): string | null {
  const all = complexes.flatMap((c) => c.consultations)
  return all.length === 1 ? all[0].id : null
}
