// Matching proposals as the community's worker reads them: whose answer is still awaited, and what the
// worker may still do. The matching service decides (a declined pair is never proposed again; a pair is
// accepted once both sides accept); this only says which buttons a row offers.

export type Side = 'offer' | 'need'
export interface ProposalRecord {
  id: string; status: string; offer_decision: string | null; need_decision: string | null; quantity: number; unit: string
}

/** The sides that have not answered yet, while the proposal is still open. */
export function awaiting(p: ProposalRecord): Side[] {
  if (p.status !== 'proposed') return []
  const sides: Side[] = []
  if (!p.need_decision) sides.push('need')
  if (!p.offer_decision) sides.push('offer')
  return sides
}

/** Whether the worker may answer for ``side`` (each side answers once; a decided proposal takes no more). */
export function mayDecide(p: ProposalRecord, side: Side): boolean {
  return awaiting(p).includes(side)
}

/** The longest reason matching takes (its contract's REASON_MAX, since matching 2.0). */
export const REASON_MAX = 500

/** A decline needs a reason the other side can read; an accept does not; neither takes more than
 * REASON_MAX characters. The same rule as matching's contract, which refuses the call anyway. */
export function reasonError(decision: 'accept' | 'decline', reason: string): 'required' | 'too_long' | null {
  const text = reason.trim()
  if (decision === 'decline' && !text) return 'required'
  return text.length > REASON_MAX ? 'too_long' : null
}
