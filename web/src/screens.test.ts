import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { createPinia, setActivePinia } from 'pinia'
import { makeI18n, messages } from './i18n'
import { makeRouter } from './router'
import { useAuth } from './stores/auth'
import MergeDialog from './components/MergeDialog.vue'

afterEach(() => vi.unstubAllGlobals())

function stubFetch(status: number, body: unknown) {
  const calls: { url: string; init: RequestInit }[] = []
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    calls.push({ url, init })
    return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
  })
  return calls
}

describe("the new screens keep to their people", () => {
  beforeEach(() => setActivePinia(createPinia()))
  async function land(roles: string[], path: string) {
    const auth = useAuth()
    auth.person = { person_id: 'X', name: 'x', roles }
    auth.checked = true
    const router = makeRouter()
    await router.push(path)
    return router.currentRoute.value.path
  }
  test('matching proposals are the workers\', voting the residents\'', async () => {
    expect(await land(['community_worker'], '/proposals')).toBe('/proposals')
    expect(await land(['resident'], '/proposals')).toBe('/forbidden')
    expect(await land(['company_staff', 'property_company'], '/proposals')).toBe('/forbidden')
    expect(await land(['resident'], '/m/vote')).toBe('/m/vote')
    expect(await land(['grid_member', 'grid_worker'], '/m/vote')).toBe('/forbidden')
  })
  test('every new text is in both languages', () => {
    for (const group of ['merge', 'match', 'vote'] as const) {
      const zh = (messages['zh-CN'] as any)[group], en = (messages.en as any)[group]
      expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort())
    }
    expect((messages['zh-CN'] as any).nav.proposals).toBe('供需对接')
    expect((messages['zh-CN'] as any).nav.inbox).toBe('工单收件箱') // the tables above are kept, not replaced
  })
})

describe('MergeDialog', () => {
  const tickets = [
    { id: 'T1', status: 'submitted', category: 'leak', description: '漏水', location: { building_id: 'B1' } },
    { id: 'T2', status: 'dispatched', category: 'leak', description: '楼道漏水', location: { building_id: 'B1' } },
    { id: 'T3', status: 'cancelled', category: 'leak', description: '已撤销', location: { building_id: 'B1' } },
  ]
  function render() {
    return mount(MergeDialog, { props: { tickets }, attachTo: document.body,
      global: { plugins: [ElementPlus, makeI18n('zh-CN')] } })
  }
  test('without a ticket to keep it names the field and sends nothing', async () => {
    const calls = stubFetch(200, {})
    const wrapper = render()
    ;(wrapper.vm as any).open(tickets[0])
    await flushPromises()
    ;(document.querySelector('[data-test="merge-submit"]') as HTMLElement).click()
    await flushPromises()
    expect((wrapper.vm as any).$.setupState.error).toBe('请填写保留的工单') // shown under the field
    expect(calls).toHaveLength(0)
    wrapper.unmount()
  })
  test("merges into the chosen ticket and says where it went; a refusal is shown under the field", async () => {
    const calls = stubFetch(200, { ticket: { id: 'T1', status: 'cancelled', merged_into: 'T2' } })
    const wrapper = render()
    ;(wrapper.vm as any).open(tickets[0])
    await flushPromises()
    const setup = (wrapper.vm as any).$.setupState
    expect(setup.candidates.map((t: any) => t.id)).toEqual(['T2']) // not itself, not the cancelled one
    setup.original = 'T2'
    await setup.submit()
    expect(calls[0].url).toBe('/api/v1/tickets/T1/merge')
    expect(JSON.parse(String(calls[0].init.body))).toEqual({ original_id: 'T2' })
    expect(wrapper.emitted('done')?.[0]?.[0]).toMatchObject({ merged_into: 'T2' })

    stubFetch(409, { error: { code: 'conflict', message: 'ticket T3 is cancelled; choose a live original', details: { field: 'original_id' } } })
    ;(wrapper.vm as any).open(tickets[0])
    setup.original = 'T3'
    await setup.submit()
    await flushPromises()
    expect(setup.error).toBe('ticket T3 is cancelled; choose a live original')
    wrapper.unmount()
  })
})
