import { afterEach, describe, expect, test, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { createPinia } from 'pinia'
import { createMemoryHistory, createRouter } from 'vue-router'
import { makeI18n } from '../i18n'
import LoginView from './LoginView.vue'

afterEach(() => vi.unstubAllGlobals())

/** GET /session/methods as the gateway answers it (status 404: a gateway from before the route). */
function stubMethods(body: unknown, status = 200) {
  const calls: string[] = []
  vi.stubGlobal('fetch', async (url: string) => {
    calls.push(url)
    return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
  })
  return calls
}

async function render(path = '/login', locale = 'zh-CN') {
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/login', component: LoginView }] })
  await router.push(path)
  const wrapper = mount(LoginView, { global: { plugins: [ElementPlus, createPinia(), makeI18n(locale), router] } })
  await flushPromises()
  return wrapper
}

const oidc = (display_name: string | null) => ({ password: true, oidc: { display_name, login_url: '/api/v1/session/oidc/login' } })

describe('LoginView: the identity provider\'s button', () => {
  test('shown when the gateway is the provider\'s client, and it goes to the gateway\'s login route', async () => {
    const calls = stubMethods(oidc(null))
    const wrapper = await render()
    expect(calls).toEqual(['/api/v1/session/methods'])
    const button = wrapper.find('[data-test="login-oidc"]')
    expect(button.text()).toBe('使用统一身份认证登录')
    expect(button.attributes('href')).toBe('/api/v1/session/oidc/login')
    expect(wrapper.find('[data-test="username"]').exists()).toBe(true) // accounts still log in beside it
  })

  test('named after the provider in English', async () => {
    stubMethods(oidc('Huangpu ID'))
    const wrapper = await render('/login', 'en')
    expect(wrapper.find('[data-test="login-oidc"]').text()).toBe('Log in with Huangpu ID')
  })

  test('absent when OIDC login is not configured, or the gateway does not know the route', async () => {
    stubMethods({ password: true, oidc: null })
    expect((await render()).find('[data-test="login-oidc"]').exists()).toBe(false)
    stubMethods({ error: { code: 'route_not_found', message: 'no such path' } }, 404)
    expect((await render()).find('[data-test="login-oidc"]').exists()).toBe(false)
  })

  test('a failed login\'s error code is shown as a clear message', async () => {
    stubMethods(oidc(null))
    let wrapper = await render('/login?error=unknown_person')
    expect(wrapper.find('[data-test="oidc-error"]').text()).toContain('未登记为本区人员')
    wrapper = await render('/login?error=disabled')
    expect(wrapper.find('[data-test="oidc-error"]').text()).toContain('账号已停用')
    wrapper = await render('/login?error=denied', 'en')
    expect(wrapper.find('[data-test="oidc-error"]').text()).toContain('You cancelled the login')
    wrapper = await render('/login?error=weird<b>', 'en')
    expect(wrapper.find('[data-test="oidc-error"]').text()).toContain('(weird<b>)') // as text, never HTML
    expect(wrapper.find('[data-test="oidc-error"] b').exists()).toBe(false)
    expect((await render('/login')).find('[data-test="oidc-error"]').exists()).toBe(false)
  })
})
