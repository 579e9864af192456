#!/usr/bin/env node
// Browser checks for Joint Panel: headless Chromium (playwright-core) + axe-core.
// Run by the Rust test suite against a running server; see README.md.
//
// Environment:
//   BASE_URL       e.g. http://127.0.0.1:40123 (required)
//   USERS_JSON     [{"role":"referrer","email":"...","password":"..."}, ...] (required)
//   ARTIFACTS_DIR  screenshots + report.json (default: ./artifacts next to this file)
//   CHROMIUM_PATH  default /usr/bin/chromium
//   BROWSER_TIMEOUT_MS  whole-run limit, default 300000 (5 minutes)
//
// Prints one line per check ("ok - name" / "not ok - name : reason"), diagnostic
// lines starting with "#", and finally "browser: N passed, M failed".
// Exit code: 0 when nothing failed, 1 when a check failed, 2 when the run could
// not start (bad input, missing node_modules or Chromium).

import fs from 'node:fs'
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)

const ACTION_TIMEOUT_MS = 15_000
const NAV_TIMEOUT_MS = 30_000
const MAX_SUBLINKS_PER_NAV_PAGE = 5
const MAX_TABS_TO_EMAIL = 15
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']
const AXE_FAILING_IMPACTS = new Set(['serious', 'critical'])
const SKIP_PREFIXES = ['/assets/', '/api/', '/sign-out']

const results = []
const screenshots = []
let browser = null
let finished = false
const startedAt = new Date()

const artifactsDir = path.resolve(process.env.ARTIFACTS_DIR || path.join(here, 'artifacts'))

// ---------------------------------------------------------------- reporting

function oneLine(s) {
  return String(s ?? '')
    .replace(/\x1b\[[0-9;]*m/g, '') // ANSI colours in Playwright messages
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 600)
}

function record(name, ok, reason = '', details = [], ms = 0) {
  results.push({ name, ok, reason: ok ? undefined : reason, details: details.length ? details : undefined, ms })
  console.log(ok ? `ok - ${name}` : `not ok - ${name} : ${oneLine(reason)}`)
  for (const d of details) console.log(`#   ${d}`)
}

// Thrown by checks: message is the reason, details are printed as "#" lines.
class CheckError extends Error {
  constructor(message, details = []) {
    super(message)
    this.details = details
  }
}

async function check(name, fn) {
  if (finished) return false
  const t0 = Date.now()
  try {
    await fn()
    record(name, true, '', [], Date.now() - t0)
    return true
  } catch (err) {
    if (finished) return false
    const details = err instanceof CheckError ? err.details : []
    const reason = err instanceof CheckError ? err.message : (err && err.message) || String(err)
    record(name, false, reason, details, Date.now() - t0)
    return false
  }
}

function assert(cond, message, details) {
  if (!cond) throw new CheckError(message, details)
}

async function finish(exitCode) {
  if (finished) return
  finished = true
  if (browser) {
    await Promise.race([browser.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000))])
  }
  const passed = results.filter((r) => r.ok).length
  const failed = results.length - passed
  try {
    fs.mkdirSync(artifactsDir, { recursive: true })
    fs.writeFileSync(
      path.join(artifactsDir, 'report.json'),
      JSON.stringify(
        {
          baseUrl: process.env.BASE_URL || null,
          startedAt: startedAt.toISOString(),
          finishedAt: new Date().toISOString(),
          passed,
          failed,
          results,
          screenshots,
        },
        null,
        2,
      ) + '\n',
    )
  } catch (err) {
    console.log(`# could not write report.json: ${oneLine(err.message)}`)
  }
  console.log(`browser: ${passed} passed, ${failed} failed`)
  process.exit(exitCode ?? (failed === 0 ? 0 : 1))
}

function setupFailure(reason) {
  record('setup', false, reason)
  return finish(2)
}

// ---------------------------------------------------------------- helpers

let BASE
let ORIGIN

function url(p) {
  return new URL(p, BASE).href
}

function pathOf(u) {
  const x = new URL(u)
  return x.pathname + x.search
}

function pathOrUrl(u) {
  try {
    const x = new URL(u)
    return x.origin === ORIGIN ? x.pathname + x.search : u
  } catch {
    return u
  }
}

const slugCounts = new Map()
function slugFor(role, u) {
  const p = pathOf(u)
  let slug = p === '/' ? 'home' : p.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80)
  if (!slug) slug = 'page'
  const base = `${safe(role)}-${slug}`
  const n = (slugCounts.get(base) || 0) + 1
  slugCounts.set(base, n)
  return n === 1 ? base : `${base}-${n}`
}

function safe(s) {
  return String(s).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'user'
}

async function screenshot(page, name) {
  const file = path.join(artifactsDir, `${name}.png`)
  await page.screenshot({ path: file, fullPage: true })
  screenshots.push(path.basename(file))
}

// axe-core is injected with page.evaluate(<axe.min.js source>) rather than
// page.addScriptTag({ path }): addScriptTag inserts an inline <script>, which the
// app's Content-Security-Policy (no 'unsafe-inline') blocks and reports.
let axeSource = null
async function runAxe(page) {
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) {
    axeSource ??= fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')
    await page.evaluate(axeSource)
  }
  const res = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags } }),
    AXE_TAGS,
  )
  const bad = res.violations.filter((v) => AXE_FAILING_IMPACTS.has(v.impact))
  if (bad.length) {
    const details = []
    for (const v of bad) {
      details.push(`${v.id} [${v.impact}] ${v.help} (${v.nodes.length} node${v.nodes.length === 1 ? '' : 's'})`)
      for (const n of v.nodes.slice(0, 3)) details.push(`    ${JSON.stringify(n.target)} ${oneLine(n.failureSummary).slice(0, 200)}`)
    }
    throw new CheckError(`axe: ${bad.map((v) => `${v.id} (${v.impact})`).join(', ')}`, details)
  }
  return res
}

// Console errors and uncaught exceptions since the last navigation started
// (CSP violations, failed asset loads, script errors).
const pageErrors = new WeakMap()
function watchErrors(page) {
  pageErrors.set(page, [])
  page.on('console', (m) => {
    if (m.type() !== 'error') return
    const where = m.location() && m.location().url ? ` (${pathOrUrl(m.location().url)})` : ''
    pageErrors.get(page).push(`console: ${oneLine(m.text()).slice(0, 300)}${where}`)
  })
  page.on('pageerror', (e) => pageErrors.get(page).push(`exception: ${oneLine(e.message).slice(0, 300)}`))
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) pageErrors.set(page, [])
  })
}

async function assertNoPageErrors(page) {
  const errs = pageErrors.get(page) || []
  assert(errs.length === 0, `${errs.length} console error(s): ${errs[0] && errs[0].slice(0, 160)}`, errs.slice(0, 5))
  const js = await page.evaluate(() => document.body.classList.contains('govuk-frontend-supported'))
  assert(js, '<body> lacks class govuk-frontend-supported: /assets/init.js did not run')
}

async function h1Count(page) {
  return page.locator('h1').count()
}

async function h1Text(page) {
  return oneLine(await page.locator('h1').first().textContent({ timeout: ACTION_TIMEOUT_MS }).catch(() => ''))
}

async function errorSummaryText(page) {
  const loc = page.locator('.govuk-error-summary')
  if ((await loc.count()) === 0) return ''
  return oneLine(await loc.first().innerText().catch(() => ''))
}

// Clicks something that submits a form and waits for the resulting page to load.
// Returns the status of the POST response (the redirect itself when there is one).
async function submitAndWait(page, click) {
  let postStatus = null
  const onResponse = (r) => {
    const req = r.request()
    if (postStatus === null && req.method() === 'POST' && req.isNavigationRequest() && r.frame() === page.mainFrame()) {
      postStatus = r.status()
    }
  }
  page.on('response', onResponse)
  try {
    const loaded = page.waitForEvent('load', { timeout: NAV_TIMEOUT_MS })
    await click()
    await loaded
  } finally {
    page.off('response', onResponse)
  }
  return postStatus
}

async function signIn(page, user) {
  const resp = await page.goto(url('/sign-in'), { waitUntil: 'load' })
  assert(resp && resp.status() < 400, `GET /sign-in: status ${resp && resp.status()}`)
  await page.locator('#email').fill(user.email)
  await page.locator('#password').fill(user.password)
  const status = await submitAndWait(page, () =>
    page.getByRole('button', { name: 'Sign in', exact: true }).click(),
  )
  const now = new URL(page.url())
  if (now.pathname !== '/') {
    const summary = await errorSummaryText(page)
    throw new CheckError(
      `after sign-in at ${now.pathname} (POST status ${status})${summary ? `; error summary: ${summary}` : ''}`,
    )
  }
  assert(status === 303, `sign-in POST answered ${status}, expected a 303 redirect to /`)
  const n = await h1Count(page)
  assert(n === 1, `/ has ${n} <h1> elements, expected 1`)
  assert(await page.locator('h1').first().isVisible(), '/ <h1> is not visible')
}

async function focusedInfo(page) {
  return page.evaluate(() => {
    const el = document.activeElement
    if (!el || el === document.body) return { tag: 'body', id: '', text: '', cls: '' }
    return {
      tag: el.tagName.toLowerCase(),
      id: el.id || '',
      text: (el.innerText || el.value || '').trim().slice(0, 60),
      cls: typeof el.className === 'string' ? el.className : '',
      href: el.getAttribute('href') || '',
    }
  })
}

function describeFocus(f) {
  return `<${f.tag}${f.id ? ` id="${f.id}"` : ''}${f.cls ? ` class="${f.cls}"` : ''}>${f.text}`
}

// The first Tab from a freshly loaded page must reach the GOV.UK skip link.
async function assertSkipLinkFirst(page) {
  await page.evaluate(() => {
    if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur()
  })
  await page.keyboard.press('Tab')
  const f = await focusedInfo(page)
  assert(
    f.tag === 'a' && /skip to main content/i.test(f.text) && f.href === '#main-content',
    `first Tab focused ${describeFocus(f)}, expected the "Skip to main content" link to #main-content`,
  )
}

// Status, exactly one h1, <main id="main-content">, screenshot, axe, skip link,
// no console errors, init.js ran. Reports every problem of the page at once.
async function checkPage(page, role, u, resp) {
  assert(resp, `no response for ${pathOf(u)}`)
  const status = resp.status()
  assert(status < 400, `HTTP ${status}`)
  const ctype = (resp.headers()['content-type'] || '').toLowerCase()
  if (!ctype.includes('text/html')) return { skipped: `not HTML (${ctype || 'no content-type'})` }
  await screenshot(page, slugFor(role, page.url()))
  const problems = []
  const details = []
  const part = async (fn) => {
    try {
      await fn()
    } catch (err) {
      problems.push(err instanceof CheckError ? err.message : oneLine(err.message))
      if (err instanceof CheckError) details.push(...err.details)
    }
  }
  await part(async () => {
    const n = await h1Count(page)
    assert(n === 1, `${n} <h1> elements, expected 1`)
  })
  await part(async () => {
    const n = await page.locator('main#main-content').count()
    assert(n === 1, `${n} <main id="main-content"> elements, expected 1`)
  })
  await part(() => runAxe(page))
  await part(() => assertSkipLinkFirst(page))
  await part(() => assertNoPageErrors(page))
  if (problems.length) throw new CheckError(problems.join('; '), details)
  return {}
}

async function gotoPage(page, u) {
  try {
    return await page.goto(u, { waitUntil: 'load' })
  } catch (err) {
    if (/Download is starting/i.test(err.message)) return 'download'
    throw err
  }
}

async function sameOriginLinks(page, selector) {
  const hrefs = await page
    .locator(selector)
    .evaluateAll((as) => as.filter((a) => !a.hasAttribute('download')).map((a) => a.href))
  const out = []
  for (const h of hrefs) {
    let x
    try {
      x = new URL(h)
    } catch {
      continue
    }
    if (x.origin !== ORIGIN) continue
    x.hash = ''
    out.push(x.href)
  }
  return [...new Set(out)]
}

function skippable(u) {
  const p = new URL(u).pathname
  return SKIP_PREFIXES.some((s) => p === s.replace(/\/$/, '') || p.startsWith(s))
}

async function newContext(options = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options })
  ctx.setDefaultTimeout(ACTION_TIMEOUT_MS)
  ctx.setDefaultNavigationTimeout(NAV_TIMEOUT_MS)
  ctx.on('page', watchErrors)
  return ctx
}


// ---------------------------------------------------------------- the referral flow

function isoDaysFromToday(n) {
  const d = new Date()
  d.setUTCDate(d.getUTCDate() + n)
  return { day: String(d.getUTCDate()), month: String(d.getUTCMonth() + 1), year: String(d.getUTCFullYear()) }
}

async function fillDate(page, key, d) {
  await page.locator(`#${key}-day`).fill(d.day)
  await page.locator(`#${key}-month`).fill(d.month)
  await page.locator(`#${key}-year`).fill(d.year)
}

// Answers every question of a section page with something valid.
async function fillSection(page, note) {
  const form = page.locator('main form').first()
  const dates = await form.locator('.govuk-date-input').evaluateAll((els) => els.map((e) => e.id))
  for (const key of dates) await fillDate(page, key, isoDaysFromToday(-20))
  for (const t of await form.locator('input.govuk-input:not(.govuk-date-input__input)').all()) await t.fill(`${note}: answered`)
  for (const t of await form.locator('textarea').all()) await t.fill(`${note}: what the panel needs to know, written in full.`)
  const radios = await form.locator('input[type=radio]').evaluateAll((els) => [...new Set(els.map((e) => e.name))])
  for (const name of radios) {
    const preferred = form.locator(`input[name="${name}"][value="complex"], input[name="${name}"][value="new"], input[name="${name}"][value="no"]`)
    await ((await preferred.count()) ? preferred.first() : form.locator(`input[name="${name}"]`).first()).check()
  }
  const boxes = await form.locator('input[type=checkbox]').evaluateAll((els) => [...new Set(els.map((e) => e.name))])
  for (const name of boxes) await form.locator(`input[name="${name}"]`).first().check()
}

// Opens a page and checks it. checkPage leaves the skip link focused (it is
// shown in the flow of the page while focused), so it is blurred again before
// anything is clicked: otherwise the page shifts under the pointer mid-click.
async function gotoChecked(page, who, p) {
  const resp = await page.goto(url(p), { waitUntil: 'load' })
  await checkPage(page, who, page.url(), resp)
  await unfocus(page)
}

async function unfocus(page) {
  await page.evaluate(() => document.activeElement && document.activeElement.blur && document.activeElement.blur())
}

// Clicks a button (by its words, or the main form's first button) and waits for the next page.
async function clickButton(page, name = null) {
  const button = name
    ? page.getByRole('button', { name, exact: true }).first()
    : page.locator('main form button.govuk-button').first()
  const words = name ?? oneLine(await button.innerText())
  const status = await submitAndWait(page, () => button.click())
  const summary = await errorSummaryText(page)
  assert(!summary, `after “${words}” (status ${status}, at ${pathOf(page.url())}): ${summary}`)
  return status
}

async function statusTag(page) {
  return oneLine(await page.locator('main .govuk-tag').first().innerText().catch(() => ''))
}

async function checkReferralFlow(users) {
  const by = Object.fromEntries(users.map((u) => [u.role, u]))
  if (!by.referrer || !by.approver) return
  const ctxR = await newContext()
  const ctxA = await newContext()
  const r = await ctxR.newPage()
  const a = await ctxA.newPage()
  let referral = null
  try {
    if (!(await check('flow: referrer and approver sign in', async () => {
      await signIn(r, by.referrer)
      await signIn(a, by.approver)
    }))) return
    const steps = [
      ['flow: add a child to the register', async () => {
        await gotoChecked(r, 'flow', '/children/new')
        await r.locator('#given_name').fill('Juniper')
        await r.locator('#family_name').fill('Oakhurst')
        const seed = Date.now()
        await fillDate(r, 'date_of_birth', { day: String((seed % 28) + 1), month: String((Math.floor(seed / 28) % 12) + 1), year: String(2010 + (seed % 7)) })
        await r.locator('#local_id').fill(`BR-${Date.now()}`)
        await r.locator('#parental_responsibility').fill('Both parents')
        await r.locator('#language_needs').fill('English; uses a communication book')
        await clickButton(r)
        assert(/^\/children\/\d+$/.test(new URL(r.url()).pathname), `landed on ${pathOf(r.url())}`)
      }],
      ['flow: start a referral from the child record', async () => {
        await checkPage(r, 'flow', r.url(), await r.reload({ waitUntil: 'load' }))
        await unfocus(r)
        const start = await r.locator('main a', { hasText: 'Start a referral' }).first().getAttribute('href')
        assert(start, 'the child record offers “Start a referral”')
        await gotoChecked(r, 'flow', start)
        await r.locator('#panel_id').selectOption({ index: 1 })
        await clickButton(r)
        assert(/^\/referrals\/\d+$/.test(new URL(r.url()).pathname), `landed on ${pathOf(r.url())}`)
        referral = new URL(r.url()).pathname
      }],
      ['flow: answer every section of the task list', async () => {
        const sections = await sameOriginLinks(r, 'main a[href*="/sections/"]')
        assert(sections.length >= 9, `${sections.length} section links on the task list`)
        for (const s of sections) {
          await gotoChecked(r, 'flow', pathOf(s))
          await fillSection(r, 'Flow')
          await clickButton(r, 'Save and continue')
          assert(new URL(r.url()).pathname === referral, `after saving ${pathOf(s)} at ${pathOf(r.url())}`)
        }
      }],
      ['flow: an option with a cost line, recommended', async () => {
        await gotoChecked(r, 'flow', `${referral}/options`)
        await r.locator('#provider').fill('Heathfield Short Breaks')
        await r.locator('#description').fill('Two nights of short breaks every other weekend')
        await clickButton(r, 'Add the option')
        await r.locator('#item').fill('Short break night')
        await r.locator('#unit_cost').fill('240.00')
        await r.locator('#unit').selectOption('per-day')
        await r.locator('#quantity').fill('1')
        await fillDate(r, 'start', isoDaysFromToday(40))
        await fillDate(r, 'end', isoDaysFromToday(400))
        await clickButton(r, 'Add the cost line')
        await r.locator('input[name="recommended"]').first().check()
        await clickButton(r, 'Save recommendation')
        await checkPage(r, 'flow', r.url(), { status: () => 200, headers: () => ({ 'content-type': 'text/html' }) })
        await unfocus(r)
        assert((await r.locator('main').innerText()).includes('£12,480.00'), 'annual total £12,480.00 shown')
      }],
      ['flow: attach evidence', async () => {
        await gotoChecked(r, 'flow', `${referral}/evidence`)
        await r.locator('#file').setInputFiles({ name: 'assessment.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n') })
        await clickButton(r, 'Upload')
        assert((await r.locator('main').innerText()).includes('assessment.pdf'), 'the file is listed')
      }],
      ['flow: check answers and send for approval', async () => {
        await gotoChecked(r, 'flow', `${referral}/check`)
        await gotoChecked(r, 'flow', referral)
        await clickButton(r, 'Send for approval')
        assert(/awaiting approval/i.test(await statusTag(r)), `status: ${await statusTag(r)}`)
      }],
      ['flow: the approver returns it with comments', async () => {
        await gotoChecked(a, 'flow-approver', referral)
        await a.locator('#decision-1').check()
        await a.locator('#comments').fill('Please add the school’s view.')
        await clickButton(a, 'Record your decision')
        assert(/returned/i.test(await statusTag(a)), `status: ${await statusTag(a)}`)
      }],
      ['flow: the referrer fixes it and sends it again', async () => {
        await gotoChecked(r, 'flow', referral)
        assert((await r.locator('main').innerText()).includes('Please add the school’s view.'), 'the comments are shown')
        await gotoChecked(r, 'flow', `${referral}/sections/family`)
        await r.locator('textarea').first().fill('Family details, now with the school’s view.')
        await clickButton(r, 'Save and continue')
        await clickButton(r, 'Send for approval')
        assert(/awaiting approval/i.test(await statusTag(r)), `status: ${await statusTag(r)}`)
      }],
      ['flow: the approver approves', async () => {
        await gotoChecked(a, 'flow-approver', referral)
        await a.locator('#decision-0').check()
        await clickButton(a, 'Record your decision')
        assert(/approved/i.test(await statusTag(a)), `status: ${await statusTag(a)}`)
      }],
      ['flow: submitted and booked onto a meeting', async () => {
        await gotoChecked(r, 'flow', referral)
        await clickButton(r, 'Submit and book')
        await checkPage(r, 'flow', r.url(), { status: () => 200, headers: () => ({ 'content-type': 'text/html' }) })
        assert(/booked/i.test(await statusTag(r)), `status: ${await statusTag(r)}`)
        assert(/must attend/i.test(await r.locator('main').innerText()), 'the referrer is told they must attend')
      }],
      ['flow: the meeting, its deadlines and its agenda', async () => {
        const admin = by.administrator
        if (!admin) return
        const ctx = await newContext()
        try {
          const p = await ctx.newPage()
          await signIn(p, admin)
          await gotoChecked(p, 'flow-admin', '/meetings')
          const first = await p.locator('main table a[href^="/meetings/"]').first().getAttribute('href')
          assert(first, 'the meetings list links to a meeting')
          await gotoChecked(p, 'flow-admin', first)
          assert(/Referrals submitted by/.test(await p.locator('main').innerText()), 'deadlines shown')
          await gotoChecked(p, 'flow-admin', `${first}/agenda`)
          assert(/item\(s\)|Nothing is on the agenda/.test(await p.locator('main').innerText()), 'agenda shown')
        } finally {
          await ctx.close().catch(() => {})
        }
      }],
    ]
    for (const [name, fn] of steps) {
      if (!(await check(name, fn))) return null
    }
    return referral
  } finally {
    await ctxR.close().catch(() => {})
    await ctxA.close().catch(() => {})
  }
}

// ---------------------------------------------------------------- a whole meeting

// Reads a PDF page by page with pdftotext (poppler-utils).
function pdfPages(buffer) {
  const file = path.join(artifactsDir, `pack-${Date.now()}.pdf`)
  fs.writeFileSync(file, buffer)
  const info = execFileSync('pdfinfo', [file]).toString()
  const pages = Number((info.match(/^Pages:\s+(\d+)/m) || [])[1] || 0)
  const texts = []
  for (let n = 1; n <= pages; n++) {
    texts.push(execFileSync('pdftotext', ['-f', String(n), '-l', String(n), '-layout', file, '-']).toString())
  }
  return texts
}

async function checkMeetingWalk(users, referral) {
  const by = Object.fromEntries(users.map((u) => [u.role, u]))
  if (!referral || !by.administrator || !by.chair || !by.member) return
  const contexts = []
  const open = async (user) => {
    const ctx = await newContext({ acceptDownloads: true })
    contexts.push(ctx)
    const p = await ctx.newPage()
    await signIn(p, user)
    return p
  }
  let admin, chair, member, meeting
  // The whole text of the page's main (oneLine shortens, so only for messages).
  const mainText = async (p) => (await p.locator('main').innerText()).replace(/\s+/g, ' ')
  try {
    if (!(await check('meeting: administrator, chair and member sign in', async () => {
      admin = await open(by.administrator)
      chair = await open(by.chair)
      member = await open(by.member)
    }))) return
    const memberName = by.member.name
    const steps = [
      ['meeting: schedule an ad-hoc meeting', async () => {
        await gotoChecked(admin, 'meeting-admin', '/meetings/new')
        await admin.locator('#panel_id').selectOption({ index: 1 })
        await fillDate(admin, 'meeting_date', isoDaysFromToday(45))
        await admin.locator('#venue').fill('Committee Room 2, County Hall')
        await clickButton(admin, 'Save')
        meeting = new URL(admin.url()).pathname
        assert(/^\/meetings\/\d+$/.test(meeting), `landed on ${meeting}`)
        assert(/Referrals submitted by/.test(await mainText(admin)), 'its deadlines are shown')
      }],
      ['meeting: the referral is moved onto it', async () => {
        await gotoChecked(admin, 'meeting-admin', referral)
        await admin.locator('#meeting_id').selectOption(meeting.split('/').pop())
        await clickButton(admin, 'Move the referral')
        await gotoChecked(admin, 'meeting-admin', `${meeting}/agenda`)
        assert(/1 item\(s\)/.test(await mainText(admin)), `agenda: ${oneLine(await mainText(admin))}`)
      }],
      ['meeting: the chair approves the agenda', async () => {
        await gotoChecked(chair, 'meeting-chair', `${meeting}/agenda`)
        await clickButton(chair, 'Approve the agenda')
        assert(/Approved by/.test(await mainText(chair)), 'approval shown')
      }],
      ['meeting: the administrator circulates the papers and the pack is built', async () => {
        await gotoChecked(admin, 'meeting-admin', meeting)
        await clickButton(admin, 'Circulate the papers')
        assert(new URL(admin.url()).pathname === `${meeting}/papers`, `at ${pathOf(admin.url())}`)
        let text = ''
        for (let i = 0; i < 60; i++) {
          text = await mainText(admin)
          if (/Circulated on/.test(text)) break
          await admin.waitForTimeout(500)
          await admin.reload({ waitUntil: 'load' })
        }
        assert(/Circulated on/.test(text), `papers page: ${oneLine(text)}`)
        await checkPage(admin, 'meeting-admin', admin.url(), { status: () => 200, headers: () => ({ 'content-type': 'text/html' }) })
      }],
      ['meeting: the member opens the pack; every page carries the marking and their name', async () => {
        await gotoChecked(member, 'meeting-member', `${meeting}/papers`)
        const href = await member.locator('main a[href$="/papers/pack.pdf"]').getAttribute('href')
        assert(href, 'a download link')
        const resp = await member.request.get(url(href))
        assert(resp.status() === 200, `pack: ${resp.status()}`)
        assert(/application\/pdf/.test(resp.headers()['content-type'] || ''), 'a PDF')
        const pages = pdfPages(await resp.body())
        assert(pages.length >= 2, `${pages.length} page(s)`)
        pages.forEach((t, i) => {
          assert(t.includes('OFFICIAL-SENSITIVE'), `page ${i + 1} lacks the marking`)
          assert(t.includes(memberName), `page ${i + 1} lacks ${memberName}`)
          assert(t.includes(`page ${i + 1} of ${pages.length}`), `page ${i + 1} lacks its number`)
        })
      }],
      ['meeting: started; attendance with one agency absent', async () => {
        await gotoChecked(admin, 'meeting-admin', meeting)
        await clickButton(admin, 'Start the meeting')
        await gotoChecked(admin, 'meeting-admin', `${meeting}/attendance`)
        const groups = await admin.locator('main form fieldset').evaluateAll((els) => els.map((e) => [e.querySelector('input[type=radio]').name, e.querySelector('legend').innerText]))
        for (const [name, legend] of groups) {
          const id = name.replace('presence-', '')
          if (legend.includes('ICB — Northmoor')) {
            await admin.locator(`input[name="${name}"][value="absent"]`).check()
          } else {
            await admin.locator(`input[name="${name}"][value="present"]`).check()
            await admin.locator(`#attendee-${id}`).selectOption({ index: 1 })
          }
        }
        await clickButton(admin, 'Save attendance')
        const recorded = await admin.locator('main table').first().innerText()
        assert(/Absent/.test(recorded), `the absence is recorded: ${oneLine(recorded).slice(-300)} / ${JSON.stringify(groups.map((g) => g[1]))}`)
      }],
      ['meeting: the item is minuted and considered; the absent agency gets a recommendation', async () => {
        await gotoChecked(admin, 'meeting-admin', `${meeting}/minutes`)
        await admin.locator('textarea[name^="minute-"]').first().fill('The panel heard the referrer and agreed the recommended option.')
        await admin.locator('input[name^="attended-"][value="yes"]').first().check()
        await clickButton(admin, 'Save the minute of item 1')
        await unfocus(admin)
        const boxes = admin.locator('input[name^="affected-"]')
        for (const b of await boxes.all()) {
          const label = await admin.locator(`label[for="${await b.getAttribute('id')}"]`).innerText()
          if (/Children|ICB — Northmoor/.test(label)) await b.check()
        }
        await clickButton(admin, 'Mark item 1 as considered')
        const text = await mainText(admin)
        assert(/Recommendation to ICB — Northmoor/.test(text), `minutes: ${oneLine(text)}`)
      }],
      ['meeting: closed; the member’s pack link is then refused', async () => {
        await gotoChecked(admin, 'meeting-admin', meeting)
        await clickButton(admin, 'Close the meeting')
        const resp = await member.goto(url(`${meeting}/papers/pack.pdf`), { waitUntil: 'load' })
        assert(resp.status() === 410, `after the close: ${resp.status()}`)
        assert(/access to its papers has ended/.test(await mainText(member)), 'the reason is given')
        await runAxe(member)
      }],
      ['meeting: the absent agency records its response', async () => {
        await gotoChecked(member, 'meeting-member', '/')
        const rec = await member.locator('main a[href^="/recommendations/"]').first().getAttribute('href')
        assert(rec, 'the home page lists the recommendation')
        await gotoChecked(member, 'meeting-member', rec)
        await member.locator('input[name="response"][value="accept"]').check()
        await member.locator('#reason').fill('Agreed for the ICB by the locality lead.')
        await clickButton(member, 'Record the response')
        assert(/Accepted/.test(await mainText(member)), 'accepted')
      }],
      ['meeting: the chair approves and issues the minutes', async () => {
        await gotoChecked(chair, 'meeting-chair', `${meeting}/minutes`)
        await clickButton(chair, 'Approve and issue the minutes')
        assert(/Approved by .* within the deadline/.test(await mainText(chair)), oneLine(await mainText(chair)))
      }],
    ]
    for (const [name, fn] of steps) {
      if (!(await check(name, fn))) break
    }
  } finally {
    for (const c of contexts) await c.close().catch(() => {})
  }
}


// The panel's decision on the referral the meeting walk considered: the chair
// records it with a 60/40 split (99.99% first, refused), signs it off, the
// administrator previews and sends the letter (the Rust side checks it reached
// the SMTP server with the PDF), the signed decision has no edit form, and a
// correction is a second record linked to the first.
async function checkDecisionWalk(users, referral) {
  const by = Object.fromEntries(users.map((u) => [u.role, u]))
  if (!referral || !by.administrator || !by.chair || !by.member) return
  const contexts = []
  const open = async (user) => {
    const ctx = await newContext({ acceptDownloads: true })
    contexts.push(ctx)
    const p = await ctx.newPage()
    await signIn(p, user)
    return p
  }
  const mainText = async (p) => (await p.locator('main').innerText()).replace(/\s+/g, ' ')
  const decision = `${referral}/decision`
  let admin, chair, member
  // Fills a share box by its organisation's label.
  const share = async (p, org, value) => {
    const boxes = p.locator('input[name^="share-"]')
    for (const b of await boxes.all()) {
      const label = await p.locator(`label[for="${await b.getAttribute('id')}"]`).innerText()
      if (label.startsWith(org)) await b.fill(value)
    }
  }
  const selectStarting = async (p, sel, words) => {
    const value = await p.locator(`${sel} option`).evaluateAll((os, w) => (os.find((o) => o.textContent.trim().startsWith(w)) || {}).value, words)
    assert(value, `${sel} has no option starting “${words}”`)
    await p.locator(sel).selectOption(value)
  }
  try {
    if (!(await check('decision: administrator, chair and member sign in', async () => {
      admin = await open(by.administrator)
      chair = await open(by.chair)
      member = await open(by.member)
    }))) return
    const steps = [
      ['decision: the chair records the decision; 99.99% is refused', async () => {
        await gotoChecked(chair, 'decision-chair', decision)
        assert(/Record the decision/.test(await mainText(chair)), oneLine(await mainText(chair)))
        await chair.locator('input[name="outcome"][value="agreed-as-recommended"]').check()
        await chair.locator('input[name="option"]').first().check()
        await chair.locator('#rationale').fill('Short breaks answer the assessed health and care needs and keep the child at home.')
        for (const b of await chair.locator('input[name="needs"]').all()) await b.check()
        await selectStarting(chair, '#lead_agency', "Children")
        await selectStarting(chair, '#key_worker', by.referrer ? by.referrer.name : '')
        await fillDate(chair, 'review', isoDaysFromToday(120))
        await chair.locator('#expectation-1').fill('Send the panel the first month’s attendance record')
        await fillDate(chair, 'expectation-1-due', isoDaysFromToday(40))
        await selectStarting(chair, '#contract_agency', 'Commissioning')
        await chair.locator('input[name="direct_payment"][value="no"]').check()
        await share(chair, 'Northmoor County Council', '60')
        await share(chair, 'Northmoor and Dale', '39.99')
        const status = await submitAndWait(chair, () => chair.getByRole('button', { name: 'Save the draft', exact: true }).click())
        assert(status === 422, `status ${status}`)
        assert(/add up to 99.99%/.test(await errorSummaryText(chair)), await errorSummaryText(chair))
        await runAxe(chair)
      }],
      ['decision: saved at 60/40; each organisation’s cost shown by year and month', async () => {
        await share(chair, 'Northmoor and Dale', '40')
        await clickButton(chair, 'Show what each organisation pays')
        assert((await mainText(chair)).includes('as entered, not saved yet'), 'the preview of what is entered')
        await runAxe(chair)
        await clickButton(chair, 'Save the draft')
        const text = await mainText(chair)
        assert(text.includes('Northmoor County Council (60%)') && text.includes('Northmoor and Dale Integrated Care Board (40%)'), 'the apportionment table')
        assert(text.includes('How the pence are rounded'), 'the rounding rule is stated')
        // (Saving lands on #draft; the page itself is checked from its top.)
        await gotoChecked(chair, 'decision-chair', decision)
      }],
      ['decision: the chair signs it off; it can no longer be edited', async () => {
        await clickButton(chair, 'Sign off the decision')
        const text = await mainText(chair)
        assert(/Signed off by/.test(text), oneLine(text))
        assert(await chair.getByRole('button', { name: 'Save the draft', exact: true }).count() === 0, 'no edit form after sign-off')
        assert(/Agreement \d+ Active/.test(text), `the agreement is active: ${oneLine(text)}`)
      }],
      ['decision: the administrator previews the letter and sends it', async () => {
        await gotoChecked(admin, 'decision-admin', decision)
        const href = await admin.locator('main a[href$="/decision/letter.pdf"]').getAttribute('href')
        const resp = await admin.request.get(url(href))
        assert(resp.status() === 200, `preview: ${resp.status()}`)
        const text = pdfPages(await resp.body()).join(' ').replace(/\s+/g, ' ')
        assert(text.includes('Agreed as recommended') && text.includes('60%') && text.includes('If you disagree'), `letter: ${text.slice(0, 300)}`)
        await clickButton(admin, 'Send the final letter')
        const after = await mainText(admin)
        assert(/Final letter \(PDF\)/.test(after) && /On time/.test(after), oneLine(after))
        await runAxe(admin)
      }],
      ['decision: a correction is a new record linked to the signed one', async () => {
        await gotoChecked(chair, 'decision-chair', decision)
        await clickButton(chair, 'Correct this decision')
        assert(/Draft correction of decision \d+/.test(await mainText(chair)), 'a correction draft')
        await chair.locator('#rationale').fill('Short breaks answer the assessed health and care needs; the correction records the provider’s weekend hours.')
        await clickButton(chair, 'Save the draft')
        await clickButton(chair, 'Sign off the decision')
        const text = await mainText(chair)
        assert(/This decision corrects decision \d+/.test(text) && /Corrected by decision \d+/.test(text), oneLine(text))
        await runAxe(chair)
      }],
      ['decision: a panel member sees the decisions on the child’s record', async () => {
        await gotoChecked(member, 'decision-member', decision)
        assert(/Corrected by decision/.test(await mainText(member)), 'the member reads the decision page')
        const child = await member.locator('main a[href^="/children/"]').first().getAttribute('href')
        await gotoChecked(member, 'decision-member', child)
        const text = await mainText(member)
        assert(/Panel decisions/.test(text) && /Agreed as recommended/.test(text), `the child’s record: ${oneLine(text)}`)
      }],
    ]
    for (const [name, fn] of steps) {
      if (!(await check(name, fn))) break
    }
  } finally {
    for (const c of contexts) await c.close().catch(() => {})
  }
}

// ---------------------------------------------------------------- checks

async function checkSignInPage() {
  const ctx = await newContext()
  const page = await ctx.newPage()
  try {
    await check('sign-in page: structure (h1, labels, button, skip link first)', async () => {
      const resp = await page.goto(url('/sign-in'), { waitUntil: 'load' })
      assert(resp && resp.status() === 200, `GET /sign-in: status ${resp && resp.status()}`)
      await screenshot(page, 'anonymous-sign-in')
      const n = await h1Count(page)
      assert(n === 1, `${n} <h1> elements, expected 1`)
      const h1 = await h1Text(page)
      assert(h1 === 'Sign in', `<h1> is "${h1}", expected "Sign in"`)
      assert((await page.locator('main#main-content').count()) === 1, 'no <main id="main-content">')
      const email = page.getByLabel('Email address', { exact: true })
      assert((await email.count()) === 1, 'no field labelled "Email address"')
      assert((await email.getAttribute('id')) === 'email', 'field labelled "Email address" is not #email')
      assert((await email.getAttribute('type')) === 'email', '#email is not type="email"')
      const pw = page.getByLabel('Password', { exact: true })
      assert((await pw.count()) === 1, 'no field labelled "Password"')
      assert((await pw.getAttribute('id')) === 'password', 'field labelled "Password" is not #password')
      assert((await pw.getAttribute('type')) === 'password', '#password is not type="password"')
      const btn = page.getByRole('button', { name: 'Sign in', exact: true })
      assert((await btn.count()) === 1, 'no button "Sign in"')
      await assertSkipLinkFirst(page)
      await assertNoPageErrors(page)
    })
    await check('sign-in page: axe', async () => {
      await page.goto(url('/sign-in'), { waitUntil: 'load' })
      await runAxe(page)
    })
    await check('sign-in empty form: error summary, status 400/422', async () => {
      await page.goto(url('/sign-in'), { waitUntil: 'load' })
      // Test the server's validation, not the browser's.
      await page.evaluate(() => document.querySelectorAll('form').forEach((f) => (f.noValidate = true)))
      const status = await submitAndWait(page, () =>
        page.getByRole('button', { name: 'Sign in', exact: true }).click(),
      )
      await screenshot(page, 'anonymous-sign-in-error')
      assert(status === 400 || status === 422, `POST answered ${status}, expected 422 or 400`)
      assert(await page.locator('.govuk-error-summary').first().isVisible(), 'no visible .govuk-error-summary')
      const h1 = await h1Text(page)
      assert(h1 === 'Sign in', `<h1> is "${h1}", expected "Sign in" (the same page)`)
      assert((await h1Count(page)) === 1, 'more than one <h1>')
    })
    await check('sign-in empty form: axe', async () => {
      assert(await page.locator('.govuk-error-summary').count(), 'not on the error page (previous check failed)')
      await runAxe(page)
    })
  } finally {
    await ctx.close().catch(() => {})
  }
}

async function checkUser(user) {
  const role = safe(user.role)
  const ctx = await newContext()
  const page = await ctx.newPage()
  try {
    const signedIn = await check(`${role}: sign in lands on / with one visible h1`, () => signIn(page, user))
    if (!signedIn) return
    const home = url('/')
    let navLinks = []
    await check(`${role}: navigation <nav aria-label="Menu"> has links`, async () => {
      const navs = await page.locator('nav[aria-label="Menu"]').count()
      assert(navs === 1, `${navs} <nav aria-label="Menu"> elements on /, expected 1`)
      navLinks = await sameOriginLinks(page, 'nav[aria-label="Menu"] a[href]')
      assert(navLinks.length > 0, 'no same-origin links in the navigation')
      console.log(`#   ${role} nav: ${navLinks.map(pathOf).join(' ')}`)
    })

    // The landing page, then each nav page; from each, up to 5 unvisited links in <main>.
    // Nav pages count as visited from the start, so a nav page reached from / is
    // still checked (and its links followed) as a nav page.
    const tops = [...new Set([home, ...navLinks])].filter((u) => !skippable(u))
    const visited = new Set(tops)
    for (const top of tops) {
      if (finished) return
      let ok = false
      await check(`${role}: GET ${pathOf(top)} (${top === home ? 'landing' : 'nav'})`, async () => {
        const resp = await gotoPage(page, top)
        assert(resp !== 'download', 'link starts a download')
        const r = await checkPage(page, role, top, resp)
        if (r.skipped) console.log(`#   ${pathOf(top)}: ${r.skipped}`)
        ok = !r.skipped
      })
      if (!ok) continue
      const inMain = (await sameOriginLinks(page, 'main a[href]').catch(() => [])).filter(
        (u) => !visited.has(u) && !skippable(u),
      )
      for (const sub of inMain.slice(0, MAX_SUBLINKS_PER_NAV_PAGE)) {
        if (finished) return
        visited.add(sub)
        await check(`${role}: GET ${pathOf(sub)} (from ${pathOf(top)})`, async () => {
          const resp = await gotoPage(page, sub)
          if (resp === 'download') {
            console.log(`#   ${pathOf(sub)}: download, not checked`)
            return
          }
          const r = await checkPage(page, role, sub, resp)
          if (r.skipped) console.log(`#   ${pathOf(sub)}: ${r.skipped}`)
        })
      }
    }

    await check(`${role}: sign out`, async () => {
      await page.goto(home, { waitUntil: 'load' })
      const btn = page.getByRole('button', { name: 'Sign out', exact: true })
      assert((await btn.count()) === 1, `${await btn.count()} "Sign out" buttons on /, expected 1`)
      await submitAndWait(page, () => btn.click())
      const resp = await page.goto(home, { waitUntil: 'load' })
      const now = new URL(page.url())
      assert(
        now.pathname === '/sign-in',
        `after sign-out GET / ended at ${now.pathname} (status ${resp && resp.status()}), expected a redirect to /sign-in`,
      )
    })
  } finally {
    await ctx.close().catch(() => {})
  }
}

async function checkKeyboard(user) {
  const ctx = await newContext()
  const page = await ctx.newPage()
  try {
    await check('keyboard only: Tab to fields, type, Enter signs in', async () => {
      await page.goto(url('/sign-in'), { waitUntil: 'load' })
      const path = []
      let f = await focusedInfo(page)
      for (let i = 0; i < MAX_TABS_TO_EMAIL && f.id !== 'email'; i++) {
        await page.keyboard.press('Tab')
        f = await focusedInfo(page)
        path.push(describeFocus(f))
      }
      assert(f.id === 'email', `#email not reached after ${MAX_TABS_TO_EMAIL} Tabs`, path)
      await page.keyboard.type(user.email)
      for (let i = 0; i < 5 && f.id !== 'password'; i++) {
        await page.keyboard.press('Tab')
        f = await focusedInfo(page)
        path.push(describeFocus(f))
      }
      assert(f.id === 'password', '#password not reached by Tab from #email', path)
      await page.keyboard.type(user.password)
      await submitAndWait(page, () => page.keyboard.press('Enter'))
      const now = new URL(page.url())
      assert(now.pathname === '/', `after Enter at ${now.pathname}; ${await errorSummaryText(page)}`)
      assert((await h1Count(page)) === 1, '/ does not have exactly one <h1>')
    })
  } finally {
    await ctx.close().catch(() => {})
  }
}

async function checkNoJs(user) {
  const ctx = await newContext({ javaScriptEnabled: false })
  const page = await ctx.newPage()
  try {
    let first = null
    await check('javascript disabled: sign in lands on / with one h1', async () => {
      await signIn(page, user)
      const links = await sameOriginLinks(page, 'nav[aria-label="Menu"] a[href]')
      first = links.find((u) => !skippable(u) && u !== url('/')) || links[0] || null
    })
    await check('javascript disabled: first nav link', async () => {
      assert(first, 'no navigation link found (or sign-in failed)')
      const resp = await page.goto(first, { waitUntil: 'load' })
      assert(resp && resp.status() < 400, `GET ${pathOf(first)}: HTTP ${resp && resp.status()}`)
      const n = await h1Count(page)
      assert(n === 1, `GET ${pathOf(first)}: ${n} <h1> elements, expected 1`)
      await screenshot(page, slugFor('nojs', first))
    })
  } finally {
    await ctx.close().catch(() => {})
  }
}

// Each dashboard, as the administrator (and the spend one as finance):
// rendered with axe clean, a chart drawn with its title, and a table whose
// figures are not all nought — the demo's generated history feeds them.
async function checkDashboards(users) {
  const by = Object.fromEntries(users.map((u) => [u.role, u]))
  if (!by.administrator) return
  const ctx = await newContext()
  const page = await ctx.newPage()
  const dashboards = [
    ['/dashboards/reviews', 'Reviews due and overdue', 1],
    ['/dashboards/service-levels', 'Service levels', 2],
    ['/dashboards/spend', 'Spend against budget', 1],
    ['/dashboards/needs', 'The needs picture', 4],
  ]
  try {
    if (!(await check('dashboards: administrator signs in', () => signIn(page, by.administrator)))) return
    await check('dashboards: the index links each dashboard', async () => {
      await gotoChecked(page, 'dashboards', '/dashboards')
      const links = await sameOriginLinks(page, 'main a[href]')
      for (const [p] of dashboards) assert(links.includes(url(p)), `no link to ${p} on /dashboards`)
    })
    for (const [p, title, charts] of dashboards) {
      await check(`dashboards: ${p} renders with data`, async () => {
        await gotoChecked(page, 'dashboards', p)
        assert((await h1Text(page)) === title, `h1 is “${await h1Text(page)}”`)
        const svgs = page.locator('main svg[role="img"]')
        assert((await svgs.count()) === charts, `${await svgs.count()} charts, expected ${charts}`)
        for (const svg of await svgs.all()) {
          const labelled = await svg.getAttribute('aria-labelledby')
          const t = labelled && (await page.locator(`[id="${labelled}"]`).textContent())
          assert(t && t.length > 10, `a chart on ${p} has no title`)
          const marks = await svg.locator('rect, polyline').count()
          assert(marks > 0, `a chart on ${p} draws nothing`)
        }
        const tables = page.locator('main table')
        assert((await tables.count()) >= charts, `${await tables.count()} tables for ${charts} charts`)
        const cells = await page.locator('main table td').allInnerTexts()
        const figures = cells.map((c) => Number((c.match(/[0-9][0-9,.]*/) || ['0'])[0].replace(/,/g, '')))
        assert(figures.some((n) => n > 0), `every figure on ${p} is nought: ${oneLine(cells.slice(0, 12).join(' | '))}`)
        await screenshot(page, slugFor('dashboards', url(p)))
      })
    }
    await check('import: the administrator uploads a tracker file, maps it and sees each row\'s problems (axe clean)', async () => {
      await gotoChecked(page, 'import', '/tracker/import')
      const csv = 'Child local ID,Child,DOB,Panel,Meeting date,Status\n' +
        'NB-1,Rhoda Ince,31/02/2015,Joint Funding Panel (Complex Cases),2025-03-12,Closed\n' +
        'NB-2,Seth Ward,2014-06-01,No Such Panel,2025-03-12,Closed\n'
      await page.locator('#file').setInputFiles({ name: 'tracker.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) })
      await clickButton(page, 'Upload and map the columns')
      assert(/\/tracker\/imports\/\d+$/.test(pathOf(page.url())), `landed on ${pathOf(page.url())}`)
      await checkPage(page, 'import', page.url(), { status: () => 200, headers: () => ({ 'content-type': 'text/html' }) })
      await unfocus(page)
      await clickButton(page, 'Check every row')
      const text = oneLine(await page.locator('main').innerText())
      assert(/2 problems on 2 rows/.test(text), `after the check: ${text.slice(0, 300)}`)
      assert(/is not a date/.test(text) && /No panel called/.test(text), `problems: ${text.slice(0, 300)}`)
      await checkPage(page, 'import', page.url(), { status: () => 200, headers: () => ({ 'content-type': 'text/html' }) })
      await gotoChecked(page, 'import', '/finance/spend/import')
    })
    await check('dashboards: a bad choice shows the error summary (axe clean), nothing drawn', async () => {
      const resp = await page.goto(url('/dashboards/needs?years=7'), { waitUntil: 'load' })
      assert(resp && resp.status() === 422, `HTTP ${resp && resp.status()}`)
      const summary = await errorSummaryText(page)
      assert(/Select 3, 5 or 10 years/.test(summary), `error summary: ${oneLine(summary)}`)
      await runAxe(page)
      assert((await page.locator('main svg').count()) === 0, 'charts drawn under an unreadable choice')
    })
  } finally {
    await ctx.close().catch(() => {})
  }
}

// ---------------------------------------------------------------- main

async function main() {
  const timeoutMs = Number(process.env.BROWSER_TIMEOUT_MS || 300_000)
  const timer = setTimeout(() => {
    record('global timeout', false, `run did not finish within ${timeoutMs} ms`)
    finish(1)
  }, timeoutMs)
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      record('interrupted', false, `received ${sig}`)
      finish(1)
    })
  }
  process.on('unhandledRejection', (err) => {
    console.log(`# unhandled rejection: ${oneLine(err && err.stack ? err.stack : err)}`)
  })

  if (!process.env.BASE_URL) return setupFailure('BASE_URL is not set')
  try {
    BASE = new URL(process.env.BASE_URL).href
    ORIGIN = new URL(BASE).origin
  } catch {
    return setupFailure(`BASE_URL is not a URL: ${process.env.BASE_URL}`)
  }
  let users
  try {
    users = JSON.parse(process.env.USERS_JSON || '')
  } catch (err) {
    return setupFailure(`USERS_JSON is not valid JSON: ${err.message}`)
  }
  if (!Array.isArray(users) || users.length === 0 || !users.every((u) => u && u.role && u.email && u.password)) {
    return setupFailure('USERS_JSON must be a non-empty array of {role, email, password}')
  }
  fs.mkdirSync(artifactsDir, { recursive: true })

  let chromium
  try {
    ;({ chromium } = await import('playwright-core'))
    require.resolve('axe-core/axe.min.js')
  } catch (err) {
    return setupFailure(`node modules missing (run "npm ci" in ${here}): ${oneLine(err.message)}`)
  }
  const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium'
  if (!fs.existsSync(executablePath)) {
    return setupFailure(`Chromium not found at ${executablePath} (apt-get install chromium, or set CHROMIUM_PATH)`)
  }
  try {
    browser = await chromium.launch({
      executablePath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
        '--disable-quic',
      ],
      timeout: 60_000,
    })
  } catch (err) {
    return setupFailure(`could not launch Chromium: ${oneLine(err.message)}`)
  }
  console.log(`# ${BASE} with Chromium ${browser.version()}, ${users.length} user(s), artifacts in ${artifactsDir}`)

  await checkSignInPage()
  for (const user of users) {
    if (finished) return
    await checkUser(user)
  }
  let referral = null
  if (!finished) referral = await checkReferralFlow(users)
  if (!finished) await checkMeetingWalk(users, referral)
  if (!finished) await checkDecisionWalk(users, referral)
  if (!finished) await checkDashboards(users)
  if (!finished) await checkKeyboard(users[0])
  if (!finished) await checkNoJs(users[0])

  clearTimeout(timer)
  await finish()
}

main().catch((err) => {
  record('harness error', false, err && err.stack ? err.stack : String(err))
  return finish(1)
})
