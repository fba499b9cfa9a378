import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { useAuth } from './stores/auth'
import type { Capability } from './roles'

// meta.needs: the capabilities any one of which opens the screen (roles.ts).
declare module 'vue-router' {
  interface RouteMeta { needs?: Capability[]; public?: boolean; mobile?: boolean }
}

export const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/login' },
  { path: '/login', component: () => import('./views/LoginView.vue'), meta: { public: true } },
  { path: '/forbidden', component: () => import('./views/ForbiddenView.vue'), meta: { public: true } },
  { path: '/inbox', component: () => import('./views/InboxView.vue'), meta: { needs: ['workbench', 'handle'] } },
  { path: '/tickets/:id', component: () => import('./views/TicketView.vue'), meta: { needs: ['workbench', 'handle'] } },
  { path: '/summary', component: () => import('./views/SummaryView.vue'), meta: { needs: ['workbench'] } },
  { path: '/consultations', component: () => import('./views/ConsultationView.vue'), meta: { needs: ['workbench'] } },
  { path: '/cases', component: () => import('./views/CasesView.vue'), meta: { needs: ['workbench'] } },
  { path: '/ratings', component: () => import('./views/RatingsView.vue'), meta: { needs: ['review'] } },
  { path: '/rates', component: () => import('./views/RatesView.vue'), meta: { needs: ['workbench'] } },
  { path: '/m', component: () => import('./views/ResidentHome.vue'), meta: { needs: ['resident'], mobile: true } },
  { path: '/m/tickets/:id', component: () => import('./views/ResidentTicket.vue'), meta: { needs: ['resident'], mobile: true } },
  { path: '/proposals', component: () => import('./views/ProposalsView.vue'), meta: { needs: ['workbench'] } },
  { path: '/m/vote', component: () => import('./views/ResidentVote.vue'), meta: { needs: ['resident'], mobile: true } },
  { path: '/:rest(.*)*', redirect: '/login' },
]

export function makeRouter() {
  const router = createRouter({ history: createWebHistory('/app/'), routes })
  router.beforeEach(async (to) => {
    const auth = useAuth()
    await auth.restore()
    if (to.meta.public) return to.path === '/login' && auth.person ? auth.home : true
    if (!auth.person) return { path: '/login', query: { next: to.fullPath } }
    if (to.meta.needs && !to.meta.needs.some((cap) => auth.can(cap))) return '/forbidden'
    return true
  })
  return router
}
