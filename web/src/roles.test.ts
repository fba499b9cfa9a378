import { describe, expect, test } from 'vitest'
import { capabilities, homeFor, roleNames } from './roles'

describe('screens by role', () => {
  test('a community worker has the workbench, not the resident page', () => {
    const caps = capabilities(['community_worker'])
    expect(caps.has('workbench')).toBe(true)
    expect(caps.has('resident')).toBe(false)
    expect(homeFor(caps)).toBe('/inbox')
  })
  test('a person with no post is a resident, and only that', () => {
    expect([...capabilities([])]).toEqual(['resident'])
    expect([...capabilities(['resident'])]).toEqual(['resident'])
    expect(homeFor(capabilities([]))).toBe('/m')
  })
  test('company staff handle; party committee and housing officers review', () => {
    expect([...capabilities(['company_staff'])]).toEqual(['handle'])
    expect([...capabilities(['party_secretary'])]).toEqual(['review'])
    expect(homeFor(capabilities(['housing_officer']))).toBe('/ratings')
  })
  test('gateway key roles map the same way', () => {
    expect(capabilities(['grid_worker']).has('workbench')).toBe(true)
    expect(capabilities(['property_company']).has('handle')).toBe(true)
  })
  test('roles as names or as role records', () => {
    expect(roleNames(['grid_member', { role: 'community_worker' }, { kind: 'operator' }, {}])).toEqual(['grid_member', 'community_worker', 'operator'])
    expect(roleNames('resident')).toEqual(['resident'])
    expect(roleNames(undefined)).toEqual([])
  })
})

describe('who the session says', () => {
  test('registry posts and the gateway role together', async () => {
    const { personOf } = await import('./stores/auth')
    expect(personOf({ person_id: 'W1', name: '测试W1', roles: ['grid_member'], role: 'grid_worker' }).roles).toEqual(['grid_member', 'grid_worker'])
    expect(personOf({ person_id: 'P2', name: '李四', roles: [], role: 'resident' }).roles).toEqual(['resident'])
  })
})
