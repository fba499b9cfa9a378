// Which screens a person's roles open. The gateway and the services decide what each call may do;
// this only keeps people from screens that would answer them 403. Role names are the registry's
// RoleKind (contracts/registry.py) and the gateway's API-key roles (options.py).

export const WORKER_ROLES = [
  'community_worker', 'grid_head', 'grid_member', 'red_property_specialist', 'subdistrict_officer',
  'district_officer', 'operator', 'grid_worker', 'community_admin',
]
export const HANDLER_ROLES = ['company_manager', 'company_staff', 'department_contact', 'property_company', 'department']
export const REVIEWER_ROLES = ['party_secretary', 'party_committee_member', 'housing_officer']

export type Capability = 'workbench' | 'handle' | 'review' | 'resident'

export function capabilities(roles: string[]): Set<Capability> {
  const has = (group: string[]) => roles.some((r) => group.includes(r))
  const caps = new Set<Capability>()
  if (has(WORKER_ROLES)) caps.add('workbench')
  if (has(HANDLER_ROLES)) caps.add('handle')
  if (has(REVIEWER_ROLES) || has(WORKER_ROLES)) caps.add('review')
  // A person with none of the posts above is a resident (owners have no role record), as is the 'resident' key.
  if (roles.includes('resident') || caps.size === 0) caps.add('resident')
  return caps
}

/** The first screen after login. */
export function homeFor(caps: Set<Capability>): string {
  if (caps.has('workbench') || caps.has('handle')) return '/inbox'
  if (caps.has('review')) return '/ratings'
  return '/m'
}

/** Roles as the gateway sends them: names, or role records ({role: ...}). */
export function roleNames(raw: unknown): string[] {
  if (!Array.isArray(raw)) return typeof raw === 'string' ? [raw] : []
  return raw.map((r: any) => (typeof r === 'string' ? r : r?.role ?? r?.kind)).filter((r): r is string => !!r)
}
