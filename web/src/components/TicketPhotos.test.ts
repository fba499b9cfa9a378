import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus, { ElMessageBox } from 'element-plus'
import { makeI18n } from '../i18n'
import TicketPhotos from './TicketPhotos.vue'

// The gateway, as the photo list answers it: may_delete says whether this person may delete each photo.
function photo(id: string, mayDelete: boolean) {
  return { id, ticket_id: 'T1', content_type: 'image/png', size: 10, sha256: '0'.repeat(64), uploader_role: 'resident',
           uploaded_at: '2026-12-01T08:00:00Z', url: `/api/v1/tickets/T1/photos/${id}`, may_delete: mayDelete }
}

let listed: ReturnType<typeof photo>[] = []
const calls: { method: string; url: string; headers: Record<string, string> }[] = []
const original = { fetch: globalThis.fetch, create: URL.createObjectURL, revoke: URL.revokeObjectURL }

beforeEach(() => {
  calls.length = 0
  URL.createObjectURL = (() => `blob:test/${calls.length}`) as any
  URL.revokeObjectURL = () => undefined
  globalThis.fetch = (async (url: string, init: RequestInit = {}) => {
    const method = init.method ?? 'GET'
    calls.push({ method, url, headers: (init.headers ?? {}) as Record<string, string> })
    if (method === 'DELETE') {
      const id = url.split('/').pop()
      if (id === 'b'.repeat(32)) {
        return new Response(JSON.stringify({ error: { status: 503, code: 'unavailable', message: 'photo store unavailable', details: {} } }), { status: 503 })
      }
      listed = listed.filter((p) => p.id !== id)
      return new Response(null, { status: 204 })
    }
    if (url.endsWith('/photos')) return new Response(JSON.stringify({ photos: listed, max_bytes: 5242880, max_per_ticket: 9, types: ['image/png'] }))
    return new Response(new Blob([new Uint8Array(4)]))
  }) as any
})
afterEach(() => {
  globalThis.fetch = original.fetch; URL.createObjectURL = original.create; URL.revokeObjectURL = original.revoke
  vi.restoreAllMocks()
})

async function render(locale: 'zh-CN' | 'en' = 'en') {
  const wrapper = mount(TicketPhotos, { props: { ticketId: 'T1' }, global: { plugins: [ElementPlus, makeI18n(locale)] } })
  await flushPromises()
  return wrapper
}

describe('TicketPhotos', () => {
  test('shows a delete button only on the photos the gateway says this person may delete', async () => {
    listed = [photo('a'.repeat(32), true), photo('c'.repeat(32), false)]
    const wrapper = await render('zh-CN')
    expect(wrapper.findAll('[data-test=photo-thumb]')).toHaveLength(2)
    const buttons = wrapper.findAll('[data-test=photo-delete]')
    expect(buttons).toHaveLength(1)
    expect(buttons[0].attributes('aria-label')).toBe('删除照片 1')
  })

  test('asks first, then deletes through the gateway with the CSRF header and shows what is left', async () => {
    listed = [photo('a'.repeat(32), true), photo('c'.repeat(32), false)]
    const confirm = vi.spyOn(ElMessageBox, 'confirm').mockResolvedValue('confirm' as any)
    const wrapper = await render()
    await wrapper.get('[data-test=photo-delete]').trigger('click')
    await flushPromises()
    expect(confirm).toHaveBeenCalledOnce()
    const deleted = calls.filter((c) => c.method === 'DELETE')
    expect(deleted.map((c) => c.url)).toEqual([`/api/v1/tickets/T1/photos/${'a'.repeat(32)}`])
    expect(deleted[0].headers['X-Requested-With']).toBe('redprop')
    expect(wrapper.findAll('[data-test=photo-thumb]')).toHaveLength(1)
    expect(wrapper.findAll('[data-test=photo-delete]')).toHaveLength(0)
  })

  test('a cancelled confirmation deletes nothing, and a refusal is said', async () => {
    listed = [photo('b'.repeat(32), true)]
    vi.spyOn(ElMessageBox, 'confirm').mockRejectedValueOnce('cancel').mockResolvedValueOnce('confirm' as any)
    const wrapper = await render()
    await wrapper.get('[data-test=photo-delete]').trigger('click')
    await flushPromises()
    expect(calls.filter((c) => c.method === 'DELETE')).toHaveLength(0)
    await wrapper.get('[data-test=photo-delete]').trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-test=photo-delete-problem]').text()).toBe('The photo was not deleted: photo store unavailable')
    expect(wrapper.findAll('[data-test=photo-thumb]')).toHaveLength(1)
  })
})
