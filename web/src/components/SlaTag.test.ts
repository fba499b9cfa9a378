import { describe, expect, test } from 'vitest'
import { mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { makeI18n } from '../i18n'
import SlaTag from './SlaTag.vue'

const ticket = { status: 'dispatched', sla_state: 'on_track' as const, responded_at: null,
  response_due_at: '2026-12-02T12:30:00Z', resolution_due_at: '2026-12-04T10:00:00Z' }

function render(now: string, locale: 'zh-CN' | 'en' = 'zh-CN', t = ticket) {
  return mount(SlaTag, { props: { ticket: t, now: new Date(now) }, global: { plugins: [ElementPlus, makeI18n(locale)] } })
}

describe('SlaTag', () => {
  test('counts down to the response deadline, in Chinese first', () => {
    const wrapper = render('2026-12-02T10:00:00Z')
    expect(wrapper.attributes('data-sla')).toBe('on_track')
    expect(wrapper.text()).toContain('正常')
    expect(wrapper.text()).toContain('响应 剩余 2小时30分')
  })
  test('in English, overdue and breached once the deadline passed', () => {
    const wrapper = render('2026-12-03T13:30:00Z', 'en')
    expect(wrapper.attributes('data-sla')).toBe('breached')
    expect(wrapper.text()).toContain('Breached')
    expect(wrapper.text()).toContain('response 1d 1h overdue')
  })
  test('a closed ticket shows no countdown', () => {
    const wrapper = render('2026-12-02T10:00:00Z', 'en', { ...ticket, status: 'closed' })
    expect(wrapper.text()).toContain('—')
  })
})
