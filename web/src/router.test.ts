import { beforeEach, describe, expect, test } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { makeRouter } from './router'
import { useAuth } from './stores/auth'

function as(roles: string[] | null) {
  const auth = useAuth()
  auth.person = roles ? { person_id: 'X', name: 'x', roles } : null
  auth.checked = true // no call to the gateway: who is logged in is given here
}

async function land(path: string) {
  const router = makeRouter()
  await router.push(path)
  return router.currentRoute.value.path
}

describe('the router keeps each role to its screens', () => {
  beforeEach(() => setActivePinia(createPinia()))

  test('nobody logged in goes to the login page, remembering where', async () => {
    as(null)
    const router = makeRouter()
    await router.push('/inbox')
    expect(router.currentRoute.value.path).toBe('/login')
    expect(router.currentRoute.value.query.next).toBe('/inbox')
  })
  test("a resident is refused the workers' screens and a ticket's workbench page", async () => {
    as(['resident'])
    for (const path of ['/inbox', '/summary', '/cases', '/consultations', '/ratings', '/rates', '/tickets/T1']) {
      expect(await land(path)).toBe('/forbidden')
    }
    expect(await land('/m')).toBe('/m')
    expect(await land('/m/tickets/T1')).toBe('/m/tickets/T1')
  })
  test('a worker has the workbench but not the resident page', async () => {
    as(['grid_member', 'grid_worker'])
    expect(await land('/summary')).toBe('/summary')
    expect(await land('/m')).toBe('/forbidden')
  })
  test("a company's staff have the inbox, not the summaries", async () => {
    as(['company_staff', 'property_company'])
    expect(await land('/inbox')).toBe('/inbox')
    expect(await land('/summary')).toBe('/forbidden')
  })
  test('the login page sends someone logged in home', async () => {
    as(['resident'])
    expect(await land('/login')).toBe('/m')
  })
})
