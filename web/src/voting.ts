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
