import { defineStore } from 'pinia'
import { api, ApiError, useApiKey } from '../api'
import { capabilities, homeFor, roleNames, type Capability } from '../roles'

export interface Person { person_id: string; name: string; roles: string[] }

/** The session's (or /me's) answer: the registry posts ("roles") and the gateway role ("role") both count. */
export function personOf(reply: any): Person {
  const roles = [...new Set([...roleNames(reply.roles), ...roleNames(reply.role)])]
  return { person_id: reply.person_id, name: reply.name, roles }
}

const KEY_STORE = 'redprop.apiKey' // a tab's API key (sessionStorage: gone with the tab)

export const useAuth = defineStore('auth', {
  state: () => ({ person: null as Person | null, via: null as 'session' | 'key' | null, checked: false }),
  getters: {
    caps(state): Set<Capability> { return state.person ? capabilities(state.person.roles) : new Set() },
    home(): string { return homeFor(this.caps) },
  },
  actions: {
    can(cap: Capability): boolean { return this.caps.has(cap) },

    async login(username: string, password: string) {
      const reply = await api.post('/session', { username, password })
      this.person = personOf(reply)
      this.via = 'session'
    },

    /** An API key (operators, apps, and gateways without accounts): /me says who it is. */
    async loginWithKey(key: string) {
      useApiKey(key)
      try {
        const me = await api.get('/me')
        this.person = personOf({ ...me, person_id: me.person_id ?? me.subject })
        this.via = 'key'
        sessionStorage.setItem(KEY_STORE, key)
      } catch (error) {
        useApiKey(null)
        throw error
      }
    },

    /** On load: the session cookie, else this tab's key; nobody when neither answers. */
    async restore() {
      if (this.checked) return
      this.checked = true
      const key = sessionStorage.getItem(KEY_STORE)
      if (key) {
        try { await this.loginWithKey(key); return } catch { sessionStorage.removeItem(KEY_STORE) }
      }
      try {
        this.person = personOf(await api.get('/session'))
        this.via = 'session'
      } catch (error) {
        if (!(error instanceof ApiError)) throw error
        this.person = null
      }
    },

    async logout() {
      if (this.via === 'session') { try { await api.del('/session') } catch { /* already gone */ } }
      sessionStorage.removeItem(KEY_STORE)
      useApiKey(null)
      this.person = null
      this.via = null
    },
  },
})
