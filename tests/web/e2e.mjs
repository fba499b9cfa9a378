// The workbench in a real browser: Debian's headless chromium driven by playwright-core (web/'s pinned
// copy; no browser download). Run by tests/web/test_browser.py against a running suite and gateway:
//   node tests/web/e2e.mjs SCENARIO   with WORKBENCH_URL, WORKBENCH_KEYS (JSON role -> key), SHOTS (a folder)
import { createRequire } from 'node:module'
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(path.join(here, '..', '..', 'web', 'package.json'))
const { chromium, selectors } = require('playwright-core')
selectors.setTestIdAttribute('data-test') // the app marks what tests find with data-test

const base = process.env.WORKBENCH_URL
const keys = JSON.parse(process.env.WORKBENCH_KEYS)
const shots = process.env.SHOTS
const ticketId = process.env.TICKET_ID
const photo = process.env.PHOTO  // a PNG file the resident attaches (with EXIF the gateway strips)
mkdirSync(shots, { recursive: true })

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }
const DESKTOP = { viewport: { width: 1366, height: 860 } }

function check(ok, message) {
  if (!ok) throw new Error('check failed: ' + message)
  console.log('ok: ' + message)
}

// Element Plus puts a text field's attributes on its <input> or <textarea> itself.
const field = (page, id) =>
  page.locator(`input[data-test="${id}"], textarea[data-test="${id}"], [data-test="${id}"] input, [data-test="${id}"] textarea`).first()

async function login(page, role) {
  await page.goto(base + '/app/login')
  if (keys.accounts?.[role]) {
    await field(page, 'username').fill(keys.accounts[role].username)
    await field(page, 'password').fill(keys.accounts[role].password)
  } else {
    await page.getByTestId('login-mode').click()
    await field(page, 'apikey').fill(keys[role])
  }
  await page.getByTestId('login-submit').click()
}

async function pick(page, testId, optionText) {
  await page.getByTestId(testId).click()
  await page.locator('.el-select-dropdown:visible .el-select-dropdown__item', { hasText: optionText }).first().click()
}

const scenarios = {
  // A resident on a phone: reports a problem in a building picked from the registry, and sees it.
  async resident(browser) {
    const page = await (await browser.newContext({ ...PHONE, locale: 'zh-CN' })).newPage()
    await login(page, 'resident')
    await page.waitForURL('**/app/m')
    await page.getByTestId('r-submit').click()  // empty: each missing field is named, nothing sent
    await page.getByText('请填写问题类别').waitFor()
    check(true, 'an empty form names the category')
    await pick(page, 'r-category', '漏水')
    // Li Si owns 1-101 and 1-102 in 阳光小区 1号楼 (the registry): the form starts from the first of them.
    await page.getByTestId('r-home-H1').waitFor()
    check(await page.locator('[data-test="r-home-H1"].is-checked').count() === 1, 'the first of my homes is chosen')
    check((await page.getByTestId('r-building').textContent()).includes('1号楼'), 'with its building')
    // Another complex from the registry: my home is no longer chosen and the building is asked again.
    await pick(page, 'r-complex', '老街小区')
    await page.locator('[data-test="r-home-H1"]:not(.is-checked)').waitFor()
    check(!(await page.getByTestId('r-building').textContent()).includes('1号楼'), 'another complex asks for its building')
    await pick(page, 'r-complex', '阳光小区')  // in G1, the grid worker W1 serves
    await pick(page, 'r-building', '1号楼')
    await field(page, 'r-description').fill('楼道顶棚漏水，墙面发霉')
    if (photo) {
      check((await page.getByTestId('photo-limits').textContent()).includes('最多 9 张'), 'the form shows the photo limits')
      await page.getByTestId('photo-input').setInputFiles(photo)
      await page.getByTestId('photo-preview').first().waitFor()
      check(await page.getByTestId('photo-preview').count() === 1, 'the photo is previewed before sending')
    }
    await page.screenshot({ path: path.join(shots, 'resident-report.png'), fullPage: true })
    await page.getByTestId('r-submit').click()
    const card = page.locator('[data-test^="mine-"]', { hasText: '楼道顶棚漏水' })
    await card.first().waitFor()
    check(await card.count() === 1, 'the new ticket is in my tickets')
    const width = await page.evaluate(() => document.documentElement.scrollWidth)
    check(width <= 390, `the page fits 390 px (scrollWidth ${width})`)
    await card.first().click()
    await page.getByTestId('my-ticket').waitFor()
    check(await page.getByTestId('timeline').isVisible(), 'my ticket shows its timeline')
    if (photo) {
      await page.locator('[data-test="photo-thumb"] img').first().waitFor()
      const shown = await page.locator('[data-test="photo-thumb"] img').first().evaluate((img) => img.naturalWidth)
      check(shown > 0, 'my ticket shows my photo')
    }
    await page.screenshot({ path: path.join(shots, 'resident-ticket.png'), fullPage: true })
  },

  // A community worker: logs in, sees the inbox with SLA states, dispatches a ticket to a company.
  async worker(browser) {
    const page = await (await browser.newContext({ ...DESKTOP, locale: 'zh-CN' })).newPage()
    await login(page, 'grid_worker')
    await page.waitForURL('**/app/inbox')
    const row = page.getByTestId('open-' + ticketId)
    await row.waitFor()
    check(await page.locator('[data-sla]').count() > 0, 'the inbox shows SLA states')
    await page.screenshot({ path: path.join(shots, 'worker-inbox.png'), fullPage: true })
    await page.getByTestId('dispatch-' + ticketId).click()
    await field(page, 'handler-id').fill('CO1')
    await page.getByTestId('action-submit').click()
    await page.getByTestId('status-' + ticketId).filter({ hasText: '已派单' }).waitFor()
    check(true, 'the ticket is dispatched')
    await row.click()
    await page.getByTestId('ticket-status').filter({ hasText: '已派单' }).waitFor()
    check(await page.getByTestId('timeline').getByText('dispatch').count() > 0, 'the timeline records the dispatch')
    await page.screenshot({ path: path.join(shots, 'worker-ticket.png'), fullPage: true })
    if (photo) {
      const thumb = page.locator('[data-test="photo-thumb"] img').first()
      await thumb.waitFor()
      check(await thumb.evaluate((img) => img.naturalWidth) > 0, "the worker sees the resident's photo")
      await thumb.click()
      await page.locator('.el-image-viewer__canvas img').first().waitFor()
      check(true, 'the photo opens full size')
      await page.screenshot({ path: path.join(shots, 'worker-photo.png') })
      await page.keyboard.press('Escape')
    }
    for (const screen of ['summary', 'cases', 'rates']) check(await page.getByTestId('nav-' + screen).isVisible(), `the menu offers ${screen}`)
  },

  // A resident is kept out of the workbench's screens and of another resident's ticket.
  async boundaries(browser) {
    const page = await (await browser.newContext({ ...PHONE, locale: 'en' })).newPage()
    await login(page, 'resident_other')
    await page.waitForURL('**/app/m')
    for (const screen of ['/app/inbox', '/app/summary', '/app/cases', '/app/tickets/' + ticketId]) {
      await page.goto(base + screen)
      await page.getByTestId('forbidden').waitFor()
      check(true, `a resident is refused ${screen}`)
    }
    await page.screenshot({ path: path.join(shots, 'resident-forbidden.png') })
    await page.goto(base + '/app/m/tickets/' + ticketId)
    await page.getByTestId('not-found').waitFor()
    check(!(await page.content()).includes('楼道顶棚漏水'), "another resident's ticket is not shown by URL")
    const api = await page.evaluate(async (id) => (await fetch('/api/v1/tickets/' + id)).status, ticketId)
    check(api === 401 || api === 404, `nor answered by the API without their own credentials (${api})`)
  },

  // The property company's staff take the dispatched ticket and resolve it from its page.
  async company(browser) {
    const page = await (await browser.newContext({ ...DESKTOP, locale: 'zh-CN' })).newPage()
    await login(page, 'company')
    await page.waitForURL('**/app/inbox')
    check(!(await page.getByTestId('nav-summary').isVisible()), "a company's staff have no workers' menu")
    await page.getByTestId('open-' + ticketId).click()
    await page.getByTestId('act-accept').click()
    await page.getByTestId('action-submit').click()
    await page.getByTestId('ticket-status').filter({ hasText: '处理中' }).waitFor()
    check(true, 'the company accepted it')
    await page.getByTestId('act-resolve').click()
    await page.getByTestId('action-submit').click()  // no summary: the field is named, nothing sent
    await page.locator('[data-test="action-dialog"] .el-form-item__error').first().waitFor()
    check(true, 'resolving without a summary names the field')
    await field(page, 'action-text').fill('更换了漏水的管道')
    await page.getByTestId('action-submit').click()
    await page.getByTestId('ticket-status').filter({ hasText: '已办结' }).waitFor()
    check(true, 'the company resolved it')
    await page.getByTestId('action-dialog').waitFor({ state: 'hidden' })
    await page.screenshot({ path: path.join(shots, 'company-resolved.png'), fullPage: true })
  },

  // The resident confirms and rates the resolved ticket on the phone.
  async rate(browser) {
    const page = await (await browser.newContext({ ...PHONE, locale: 'zh-CN' })).newPage()
    await login(page, 'resident')
    await page.waitForURL('**/app/m')
    await page.goto(base + '/app/m/tickets/' + ticketId)
    await page.getByTestId('act-rate').click()
    await page.getByTestId('rating').locator('.el-rate__item').nth(4).click()
    await page.getByTestId('action-submit').click()
    await page.getByTestId('ticket-status').filter({ hasText: '已关闭' }).waitFor()
    check(true, 'the rated ticket is closed')
    await page.screenshot({ path: path.join(shots, 'resident-rated.png'), fullPage: true })
  },
}

// Issue 19's screens: transfer, notes and merging in the inbox; matching proposals; voting on the phone.
const env = (name) => process.env[name]

// Every control a person can reach on the page has a name a screen reader says (a label, aria-label, or text).
async function unnamedControls(page) {
  return page.evaluate(() => {
    const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length)
    const named = (el) => {
      if ((el.getAttribute('aria-label') ?? '').trim() || el.getAttribute('aria-labelledby') || el.title) return true
      if (el.labels && [...el.labels].some((l) => l.textContent.trim())) return true
      const group = el.closest('[aria-label]')
      if (el.type === 'radio' && (el.closest('label')?.textContent.trim() || group)) return true
      return ['BUTTON', 'A'].includes(el.tagName) && el.textContent.trim().length > 0
    }
    return [...document.querySelectorAll('main input:not([type=hidden]), main textarea, main button, main a[href], main [role=combobox]')]
      .filter((el) => visible(el) && !named(el)).map((el) => el.outerHTML.slice(0, 120))
  })
}

Object.assign(scenarios, {
  // The worker transfers a ticket to another unit with a reason, notes it, and merges a duplicate into it.
  async inboxmore(browser) {
    const page = await (await browser.newContext({ ...DESKTOP, locale: 'zh-CN' })).newPage()
    const kept = ticketId, dup = env('DUP_ID')
    await login(page, 'grid_worker')
    await page.waitForURL('**/app/inbox')
    await page.getByTestId('transfer-' + kept).click()
    await page.getByTestId('action-dialog').getByText('职能部门').click()
    await field(page, 'handler-id').fill('DEP-WATER')
    await page.getByTestId('action-submit').click()  // no reason: the field is named, nothing sent
    await page.locator('[data-test="action-dialog"] .el-form-item__error').first().waitFor()
    check(true, 'a transfer without a reason names the field')
    await field(page, 'action-text').fill('水管属自来水公司维护')
    await page.getByTestId('action-submit').click()
    await page.getByTestId('action-dialog').waitFor({ state: 'hidden' })
    check(true, 'the ticket is transferred with a reason')
    await page.getByTestId('note-' + kept).click()
    await field(page, 'action-text').fill('已电话联系居民，约定上门时间')
    await page.getByTestId('action-submit').click()
    await page.getByTestId('action-dialog').waitFor({ state: 'hidden' })
    check(true, 'the worker noted the ticket')
    await page.getByTestId('merge-' + dup).click()
    await page.getByTestId('merge-submit').click()  // nothing picked: named, nothing sent
    await page.locator('[data-test="merge-dialog"] .el-form-item__error').first().waitFor()
    await page.getByTestId('merge-original').click()
    await page.locator('.el-select-dropdown:visible .el-select-dropdown__item', { hasText: kept }).first().click()
    await page.screenshot({ path: path.join(shots, 'worker-merge.png'), fullPage: true })
    await page.getByTestId('merge-submit').click()
    await page.getByText('已合并到 ' + kept).first().waitFor()
    await page.getByTestId('open-' + dup).waitFor({ state: 'detached' })
    check(true, 'the duplicate is merged and leaves the open inbox')
    await page.goto(base + '/app/tickets/' + dup)
    await page.getByTestId('merged-into').filter({ hasText: kept }).waitFor()
    check(true, 'the merged ticket shows where it went')
    await page.goto(base + '/app/tickets/' + kept)
    await page.getByTestId('timeline').getByText('transfer').first().waitFor()
    check(await page.getByTestId('timeline').getByText('note').count() > 0, 'the timeline records the transfer and the note')
  },

  // The community's worker answers the matching service's proposals: accepts for the need, declines for the offer.
  async proposals(browser) {
    const page = await (await browser.newContext({ ...DESKTOP, locale: 'zh-CN' })).newPage()
    const id = env('PROPOSAL_ID')
    await login(page, 'grid_worker')
    await page.waitForURL('**/app/inbox')
    await page.getByTestId('nav-proposals').click()
    await page.getByTestId('accept-' + id).waitFor()
    check((await page.getByTestId('proposals').innerText()).includes('绿化带补种红叶石楠'), 'the proposal shows the need and the offer')
    check((await unnamedControls(page)).length === 0, 'every control on the proposals screen has a name: ' + (await unnamedControls(page)).join(' '))
    await page.screenshot({ path: path.join(shots, 'worker-proposals.png'), fullPage: true })
    await page.getByTestId('accept-' + id).click()
    await page.getByTestId('decide-submit').click()
    await page.getByTestId('decide-dialog').waitFor({ state: 'hidden' })
    await page.getByTestId('proposals').getByText('需求方: 接受').waitFor()
    check(true, 'the need side accepted; the offer side is awaited')
    // The decline by keyboard: Enter on the row's button, the reason typed, Enter on the dialog's button.
    await page.getByTestId('decline-' + id).focus()
    await page.keyboard.press('Enter')
    await page.getByTestId('decide-submit').waitFor()
    await page.getByTestId('decide-submit').focus()
    await page.keyboard.press('Enter')  // a decline without a reason: named, nothing sent
    await page.locator('[data-test="decide-dialog"] .el-form-item__error').first().waitFor()
    check(true, 'a decline without a reason names the field')
    const limit = await page.locator('[data-test="decide-dialog"] .el-input__count').first().innerText()
    check(limit.includes('500'), `the reason field shows matching's limit (${limit.trim()})`)
    await field(page, 'decide-reason').focus()
    await page.keyboard.type('苗木已预留给别处')
    await page.getByTestId('decide-submit').focus()
    await page.keyboard.press('Enter')
    await page.getByTestId('accept-' + id).waitFor({ state: 'detached' })
    check(true, 'the declined proposal leaves the list')

    // The same screen on a phone: the menu is a row above it, and nothing runs off the right edge.
    const small = await (await browser.newContext({ ...PHONE, locale: 'zh-CN' })).newPage()
    await login(small, 'grid_worker')
    await small.waitForURL('**/app/inbox')
    check(await small.getByTestId('nav-proposals').isVisible(), 'on a phone the workers\' menu is still there')
    await small.getByTestId('nav-proposals').click()
    await small.getByTestId('proposals').waitFor()
    const width = await small.evaluate(() => document.documentElement.scrollWidth)
    check(width <= 390, `the proposals screen fits 390 px (scrollWidth ${width})`)
    await small.screenshot({ path: path.join(shots, 'worker-proposals-phone.png'), fullPage: true })
  },

  // Owners' ballots arrive one by one (some from the phone page, the rest through the REST API) while the
  // worker's consultation screen is open: after each, its participation by area and by headcount moves,
  // and each 2/3 line (Civil Code Art. 278) shows crossed only once it really is.
  async ballots(browser) {
    const id = env('CONSULTATION_ID'), otherId = env('OTHER_ID')
    const owners = JSON.parse(env('OWNERS'))
    const wholeArea = Number(env('AREA_WHOLE')), wholeHeads = Number(env('HEADS_WHOLE'))
    const worker = await (await browser.newContext({ ...DESKTOP, locale: 'zh-CN' })).newPage()
    await login(worker, 'grid_worker')
    await worker.waitForURL('**/app/inbox')
    await worker.getByTestId('nav-consultations').click()
    await pick(worker, 'c-complex', '和睦小区')  // the complex's consultations, picked from a list
    await pick(worker, 'c-list', '和睦小区是否同意加装电梯')
    await worker.getByTestId('bar-area').waitFor()
    check(worker.url().includes('id=' + id), "the worker opened the consultation from the complex's list")
    const bar = async (key) => {
      const el = worker.getByTestId('bar-' + key)
      return { part: Number(await el.getAttribute('data-part')), whole: Number(await el.getAttribute('data-whole')),
        reached: (await el.getAttribute('data-reached')) === 'true', text: await el.innerText() }
    }
    const [area0, heads0] = [await bar('area'), await bar('headcount')]
    check(area0.part === 0 && area0.whole === wholeArea && heads0.part === 0 && heads0.whole === wholeHeads,
      `before any ballot: 0 of ${wholeArea} m² and 0 of ${wholeHeads} owners`)
    check(!area0.reached && !heads0.reached, 'before any ballot neither line is reached')
    check((await unnamedControls(worker)).length === 0, 'every control on the consultation screen has a name: ' + (await unnamedControls(worker)).join(' '))
    await worker.screenshot({ path: path.join(shots, 'worker-consultation-before.png'), fullPage: true })

    const sessionOf = async (username) => {
      const context = await browser.newContext({ ...PHONE, locale: 'zh-CN' })
      const page = await context.newPage()
      await page.goto(base + '/app/login')
      await field(page, 'username').fill(username)
      await field(page, 'password').fill(keys.password)
      await page.getByTestId('login-submit').click()
      await page.waitForURL('**/app/m')
      return page
    }
    for (const [n, owner] of owners.entries()) {
      if (owner.via === 'api') {
        // Through the REST API with the owner's own session, as any client of the gateway would.
        const api = (await browser.newContext()).request
        const login = await api.post(base + '/api/v1/session', { data: { username: owner.username, password: keys.password },
          headers: { 'X-Requested-With': 'redprop' } })
        check(login.ok(), `${owner.person} logs in to the API (${login.status()})`)
        const cast = await api.post(`${base}/api/v1/consultations/${id}/ballots`, {
          data: { household_id: owner.household, option: 'agree' },
          headers: { 'X-Requested-With': 'redprop', 'Idempotency-Key': `ballot-${owner.person}-${id}`.slice(0, 64) } })
        check(cast.status() === 201, `${owner.person}'s ballot through the API (${cast.status()} ${cast.ok() ? '' : await cast.text()})`)
      } else if (owner.person === 'P2') {
        // The phone's resident owns homes in two complexes: both are listed, nobody asks which complex.
        const phone = await sessionOf(owner.username)
        await phone.getByTestId('m-nav-vote').click()
        await phone.getByTestId('v-open-' + id).waitFor()
        check(await phone.getByTestId('v-complex').count() === 0 && await phone.getByTestId('v-open-' + otherId).isVisible(),
          'the phone lists the consultations of both complexes where the owner has a home')
        let width = await phone.evaluate(() => document.documentElement.scrollWidth)
        check(width <= 390, `the vote list fits 390 px (scrollWidth ${width})`)
        await phone.screenshot({ path: path.join(shots, 'resident-vote-list.png'), fullPage: true })
        // By keyboard from the tab bar: Tab reaches the consultation's button, Enter opens it, the focus lands on its question.
        await phone.getByTestId('m-nav-vote').focus()
        for (let tabs = 0; tabs < 15 && !(await phone.getByTestId('v-open-' + id).evaluate((el) => el === document.activeElement)); tabs++) {
          await phone.keyboard.press('Tab')
        }
        await phone.keyboard.press('Enter')
        await phone.getByTestId('vote').waitFor()
        check(await phone.getByTestId('v-question').evaluate((el) => el === document.activeElement), 'the opened consultation takes the focus')
        await phone.getByTestId('v-participation').waitFor()  // the tally follows the consultation
        await phone.getByTestId('v-submit').click()  // no choice: named, nothing sent
        await phone.locator('[data-test="vote"] .el-form-item__error').first().waitFor()
        // The option's radio takes Space, the focused button Enter.
        await phone.locator('[data-test="v-option-agree"] input').focus()
        await phone.keyboard.press('Space')
        await phone.getByTestId('v-submit').focus()
        await phone.keyboard.press('Enter')
        await phone.getByTestId('v-voted').waitFor()
        check(true, 'the owner voted by keyboard and sees their ballot')
        check((await unnamedControls(phone)).length === 0, 'every control on the vote screen has a name: ' + (await unnamedControls(phone)).join(' '))
        width = await phone.evaluate(() => document.documentElement.scrollWidth)
        check(width <= 390, `the vote screen fits 390 px (scrollWidth ${width})`)
        await phone.screenshot({ path: path.join(shots, 'resident-vote.png'), fullPage: true })
        await phone.getByTestId('v-back').click()  // back to the list, the other complex's vote still there
        await phone.getByTestId('v-open-' + otherId).waitFor()
      } else {
        // An owner of this complex only: its one open consultation opens at once.
        const phone = await sessionOf(owner.username)
        await phone.getByTestId('m-nav-vote').click()
        await phone.getByTestId('vote').waitFor()
        await phone.getByTestId('v-option-agree').click()
        await phone.getByTestId('v-submit').click()
        await phone.getByTestId('v-voted').waitFor()
        check(true, `${owner.person} voted on the phone without naming a complex`)
      }
      // The worker's screen refreshes by itself (every 5 s): wait for this ballot's figures.
      const want = owner.expect
      await worker.waitForFunction((w) => {
        const get = (k) => document.querySelector(`[data-test="bar-${k}"]`)
        return Number(get('area')?.dataset.part) === w.area && Number(get('headcount')?.dataset.part) === w.heads
      }, want, { timeout: 30000 })
      const [a, h] = [await bar('area'), await bar('headcount')]
      check(a.reached === want.area_reached && h.reached === want.heads_reached,
        `ballot ${n + 1} of ${owners.length}: ${a.part} of ${a.whole} m², ${h.part} of ${h.whole} owners; ` +
        `area line ${a.reached ? 'crossed' : 'not crossed'}, headcount line ${h.reached ? 'crossed' : 'not crossed'}`)
      if (want.area_reached && !want.heads_reached) {
        check(a.text.includes('已达到') && h.text.includes('未达到'), 'the area line is crossed and the headcount line is not, as the screen says')
        await worker.screenshot({ path: path.join(shots, 'worker-consultation-area-only.png'), fullPage: true })
      }
    }
    const [a, h] = [await bar('area'), await bar('headcount')]
    check(a.reached && h.reached, `both 2/3 lines crossed (${a.text}; ${h.text})`)
    await worker.screenshot({ path: path.join(shots, 'worker-consultation-after.png'), fullPage: true })

    // The worker's screen on a phone too (a grid worker checks it out and about).
    const small = await (await browser.newContext({ ...PHONE, locale: 'zh-CN' })).newPage()
    await login(small, 'grid_worker')
    await small.waitForURL('**/app/inbox')
    await small.goto(base + '/app/consultations?id=' + id)
    await small.getByTestId('bar-area').waitFor()
    const width = await small.evaluate(() => document.documentElement.scrollWidth)
    check(width <= 390, `the consultation screen fits 390 px (scrollWidth ${width})`)
    await small.screenshot({ path: path.join(shots, 'worker-consultation-phone.png'), fullPage: true })
  },

  // A person who owns nothing in the district is told so; a link to a consultation says they are not an owner.
  async nonowner(browser) {
    const page = await (await browser.newContext({ ...PHONE, locale: 'zh-CN' })).newPage()
    await login(page, 'tenant')
    await page.waitForURL('**/app/m')
    await page.goto(base + '/app/m/vote')
    await page.getByTestId('v-no-homes').waitFor()
    check(await page.getByTestId('v-complex').count() === 0, 'a person with no home on record is told so, not asked for a complex')
    await page.goto(base + '/app/m/vote?id=' + env('CONSULTATION_ID'))
    await page.getByTestId('v-not-owner').waitFor()
    check(await page.getByTestId('v-submit').count() === 0, 'a non-owner is told why not and offered no ballot')
    await page.screenshot({ path: path.join(shots, 'resident-not-owner.png'), fullPage: true })
  },
})

// Logging in with the district's identity provider (tests/gateway/oidc_provider.py: it sends the browser
// straight back, as a provider does once the person has logged in there).
Object.assign(scenarios, {
  async oidc(browser) {
    const page = await (await browser.newContext({ ...DESKTOP, locale: 'zh-CN' })).newPage()
    await page.goto(base + '/app/login')
    const button = page.getByTestId('login-oidc')
    await button.waitFor()
    check((await button.textContent()).trim() === '使用统一身份认证登录', 'the login page offers the identity provider')
    await page.screenshot({ path: path.join(shots, 'login-oidc.png'), fullPage: true })
    await button.click()
    await page.waitForURL('**/app/inbox')
    await page.locator('[data-test^="open-"]').first().waitFor()
    check(true, 'the worker lands on their inbox')
  },

  async oidcdenied(browser) {
    const page = await (await browser.newContext({ ...DESKTOP, locale: 'zh-CN' })).newPage()
    await page.goto(base + '/app/login')
    await page.getByTestId('login-oidc').click()
    await page.waitForURL('**/app/login?error=denied')
    check((await page.getByTestId('oidc-error').textContent()).includes('取消了登录'), 'a cancelled login is explained')
  },
})

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage'] })
try {
  for (const name of process.argv.slice(2)) {
    console.log('scenario: ' + name)
    try {
      await scenarios[name](browser)
    } catch (error) {
      // What the page showed when it failed, for whoever reads the test's output.
      for (const context of browser.contexts()) {
        for (const [i, page] of context.pages().entries()) {
          await page.screenshot({ path: path.join(shots, `failed-${name}-${i}.png`), fullPage: true }).catch(() => {})
          console.log(`page ${page.url()}:\n` + (await page.locator('body').innerText().catch(() => '')).slice(0, 2000))
        }
      }
      throw error
    }
  }
  console.log('e2e: done')
} finally {
  await browser.close()
}
