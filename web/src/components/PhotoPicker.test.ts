import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { makeI18n } from '../i18n'
import PhotoPicker from './PhotoPicker.vue'
import { DEFAULT_LIMITS, photoProblem, type PhotoLimits } from '../photos'

const limits: PhotoLimits = { ...DEFAULT_LIMITS, maxBytes: 1.5 * 1024 * 1024, maxCount: 2 }

function file(name: string, type: string, size: number): File {
  return new File([new Uint8Array(size)], name, { type })
}

async function pick(wrapper: ReturnType<typeof render>, files: File[]) {
  const input = wrapper.get('[data-test=photo-input]')
  Object.defineProperty(input.element, 'files', { value: files, configurable: true })
  await input.trigger('change')
  const emitted = wrapper.emitted('update:modelValue') ?? []
  const latest = emitted[emitted.length - 1]?.[0] as File[] | undefined
  if (latest) await wrapper.setProps({ modelValue: latest })
  return latest
}

function render(locale: 'zh-CN' | 'en' = 'zh-CN') {
  return mount(PhotoPicker, { props: { modelValue: [], limits }, global: { plugins: [ElementPlus, makeI18n(locale)] } })
}

// happy-dom has no object URLs for blobs: count the ones made and revoked, as a browser would hold them.
const made: string[] = []
const revoked: string[] = []
const original = { create: URL.createObjectURL, revoke: URL.revokeObjectURL }
beforeEach(() => {
  made.length = revoked.length = 0
  URL.createObjectURL = (blob: Blob) => { const url = `blob:test/${made.length}-${(blob as File).name}`; made.push(url); return url }
  URL.revokeObjectURL = (url: string) => { revoked.push(url) }
})
afterEach(() => { URL.createObjectURL = original.create; URL.revokeObjectURL = original.revoke })

describe('PhotoPicker', () => {
  test('takes photos from the camera, previews them and shows the limits, in Chinese first', async () => {
    const wrapper = render()
    const input = wrapper.get('[data-test=photo-input]')
    expect(input.attributes('capture')).toBe('environment')
    expect(input.attributes('accept')).toBe('image/jpeg,image/png,image/webp')
    expect(wrapper.get('[data-test=photo-limits]').text()).toBe('最多 2 张，每张不超过 1.5 MB（JPG、PNG、WebP）')
    const chosen = await pick(wrapper, [file('leak.jpg', 'image/jpeg', 100)])
    expect(chosen?.map((f) => f.name)).toEqual(['leak.jpg'])
    expect(wrapper.findAll('[data-test=photo-preview] img').map((i) => i.attributes('src'))).toEqual([made[0]])
  })

  test('refuses a file of another type or over the size, saying which and why', async () => {
    const wrapper = render('en')
    const chosen = await pick(wrapper, [file('doc.pdf', 'application/pdf', 10), file('big.png', 'image/png', limits.maxBytes + 1), file('ok.png', 'image/png', 10)])
    expect(chosen?.map((f) => f.name)).toEqual(['ok.png'])
    expect(wrapper.get('[data-test=photo-problem]').text()).toBe('big.png is over 1.5 MB')
    expect(wrapper.findAll('[data-test=photo-preview]')).toHaveLength(1)
  })

  test('stops at the count, hides the add button there, and removes a photo with its preview', async () => {
    const wrapper = render('en')
    await pick(wrapper, [file('a.jpg', 'image/jpeg', 10), file('b.jpg', 'image/jpeg', 10), file('c.jpg', 'image/jpeg', 10)])
    expect(wrapper.get('[data-test=photo-problem]').text()).toBe('At most 2 photos')
    expect(wrapper.find('[data-test=photo-add]').exists()).toBe(false)
    await wrapper.findAll('[data-test=photo-remove]')[0].trigger('click')
    const emitted = wrapper.emitted('update:modelValue')!
    expect((emitted[emitted.length - 1][0] as File[]).map((f) => f.name)).toEqual(['b.jpg'])
    expect(revoked).toEqual([made[0]])
    expect(wrapper.findAll('[data-test=photo-preview] img').map((i) => i.attributes('src'))).toEqual([made[1]])
  })

  test('the check itself: type first, then size', () => {
    expect(photoProblem({ type: 'image/gif', size: 10 }, limits)).toBe('type')
    expect(photoProblem({ type: 'image/webp', size: limits.maxBytes + 1 }, limits)).toBe('size')
    expect(photoProblem({ type: 'image/webp', size: limits.maxBytes }, limits)).toBeNull()
  })
})
