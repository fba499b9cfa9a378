// Which tickets a duplicate may be merged into, likeliest first: the same place and category (what
// ticketing's intake calls a possible duplicate), then the same place, then the rest. Never itself, nor
// a ticket that is cancelled or already merged (ticketing refuses those as originals).

export interface TicketLike {
  id: string; status: string; category: string; merged_into?: string | null; submitted_at?: string
  location: { building_id?: string | null; complex_id?: string | null }
}

const place = (t: TicketLike) => t.location.building_id ?? t.location.complex_id ?? null

export function mergeCandidates<T extends TicketLike>(duplicate: TicketLike, tickets: T[]): T[] {
  const score = (t: TicketLike) =>
    (place(t) !== null && place(t) === place(duplicate) ? 2 : 0) + (t.category === duplicate.category ? 1 : 0)
  return tickets
    .filter((t) => t.id !== duplicate.id && t.status !== 'cancelled' && !t.merged_into)
    .map((t, i) => ({ t, i, s: score(t) }))
    .sort((a, b) => b.s - a.s || a.i - b.i)
    .map((x) => x.t)
}
