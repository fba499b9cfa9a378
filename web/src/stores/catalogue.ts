import { defineStore } from 'pinia'
import { api } from '../api'

export interface Category { code: string; name_zh: string; name_en: string; sla_class: string; handler_kind: string }

// The district's categories, read once: they change only when ticketing's options do.
export const useCatalogue = defineStore('catalogue', {
  state: () => ({ categories: [] as Category[], loaded: false }),
  actions: {
    async load() {
      if (this.loaded) return
      this.categories = (await api.get('/catalogue')).categories
      this.loaded = true
    },
    name(code: string, locale: string): string {
      const c = this.categories.find((x) => x.code === code)
      return c ? (locale === 'en' ? c.name_en : c.name_zh) : code
    },
  },
})
