import { afterEach, describe, expect, test, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { createMemoryHistory, createRouter } from 'vue-router'
import { makeI18n } from '../i18n'
import ResidentVote from './ResidentVote.vue'

afterEach(() => vi.unstubAllGlobals())

const consultation = (id: string, question: string) => ({
  id, question, closes_at: '2026-12-03T10:00:00Z', state: 'open', options: [{ id: 'agree', label: '同意' }, { id: 'disagree', label: '不同意' }],
})
const ratio = { part: '0', whole: '1', percent: '0' }

/** The gateway as the screen calls it: path -> reply. */
function stubGateway(replies: Record<string, unknown>) {
  const calls: string[] = []
  vi.stubGlobal('fetch', async (url: string) => {
    const path = url.replace(/^\/api\/v1/, '').split('?')[0]
    calls.push(path)
    const body = replies[path]
    return new Response(JSON.stringify(body ?? { error: { code: 'not_found', message: path } }),
      { status: body ? 200 : 404, headers: { 'Content-Type': 'application/json' } })
  })
  return calls
}

async function render(path = '/m/vote') {
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/m/vote', component: ResidentVote }] })
  await router.push(path)
  const wrapper = mount(ResidentVote, { attachTo: document.body, global: { plugins: [ElementPlus, makeI18n('zh-CN'), router] } })
  await flushPromises()
  return { wrapper, router }
}

describe('ResidentVote: the owner is never asked for a complex', () => {
  test('lists the open consultations of each complex where the person owns a home', async () => {
    const calls = stubGateway({ '/my/consultations': { complexes: [
      { complex: { id: 'X2', name: '老街小区' }, households: [{ household_id: 'H3', unit: '2-201', area_m2: '60.25' }], consultations: [consultation('K2', '是否更换水泵？')] },
      { complex: { id: 'X1', name: '阳光小区' }, households: [{ household_id: 'H2', unit: '1-102', area_m2: '120.00' }], consultations: [consultation('K1', '是否加装电梯？')] },
    ] } })
    const { wrapper } = await render()
    expect(calls).toEqual(['/my/consultations']) // no list of every complex to pick from
    expect(wrapper.find('[data-test="v-complex"]').exists()).toBe(false)
    expect(wrapper.find('[data-test="v-complex-X2"]').text()).toContain('老街小区')
    expect(wrapper.find('[data-test="v-complex-X2"]').text()).toContain('2-201')
    expect(wrapper.find('[data-test="v-open-K1"]').text()).toBe('是否加装电梯？')
    expect(wrapper.find('[data-test="v-open-K1"]').element.tagName).toBe('BUTTON') // reachable by Tab, Enter opens
    wrapper.unmount()
  })

  test('a single consultation opens at once, with the focus on its question', async () => {
    const calls = stubGateway({
      '/my/consultations': { complexes: [{ complex: { id: 'X1', name: '阳光小区' }, households: [{ household_id: 'H1', unit: '1-101', area_m2: '88.50' }], consultations: [consultation('K1', '是否加装电梯？')] }] },
      '/consultations/K1/my-vote': { consultation: consultation('K1', '是否加装电梯？'), households: [{ household_id: 'H1', unit: '1-101', area_m2: '88.50' }], ballot: null, why_not: null },
      '/consultations/K1/tally': { result: { participation_by_area: ratio, participation_by_headcount: ratio } },
    })
    const { wrapper, router } = await render()
    expect(calls).toContain('/consultations/K1/my-vote')
    expect(wrapper.find('[data-test="vote"]').exists()).toBe(true)
    expect(router.currentRoute.value.query.id).toBe('K1')
    expect(document.activeElement?.getAttribute('data-test')).toBe('v-question')
    expect(wrapper.find('[data-test="v-back"]').exists()).toBe(false) // nothing else to go back to
    wrapper.unmount()
  })

  test('a person with no home on record is told why there is nothing to vote on', async () => {
    stubGateway({ '/my/consultations': { complexes: [] } })
    const { wrapper } = await render()
    expect(wrapper.find('[data-test="v-no-homes"]').text()).toContain('第二百七十八条')
    wrapper.unmount()
  })

  test("a link to someone else's complex's consultation says the person is not an owner there", async () => {
    stubGateway({
      '/my/consultations': { complexes: [] },
      '/consultations/K9/my-vote': { consultation: consultation('K9', '是否改建车棚？'), households: [], ballot: null, why_not: 'not_owner' },
      '/consultations/K9/tally': { result: { participation_by_area: ratio, participation_by_headcount: ratio } },
    })
    const { wrapper } = await render('/m/vote?id=K9')
    expect(wrapper.find('[data-test="v-not-owner"]').exists()).toBe(true)
    expect(wrapper.find('[data-test="v-submit"]').exists()).toBe(false)
    wrapper.unmount()
  })
})
