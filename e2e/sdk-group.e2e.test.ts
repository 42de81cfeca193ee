import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser } from './harness/browser.js'
import { runIn } from './harness/page-run.js'
import { startRelay } from './harness/relay.js'
import { servePages } from './harness/server.js'
import { throwFirstRejection } from './harness/settled.js'
import { until } from './harness/aic.js'
import type { GroupPage, GroupPageError } from './pages/group.js'
import type { E2eBrowser } from './harness/browser.js'
import type { E2eRelay } from './harness/relay.js'
import type { PageServer } from './harness/server.js'
import type { Page } from 'playwright-core'

// A four-person group call (issue 18) between Chromium pages (fake camera at 320x240 and
// microphone) through a real relay-node process: every pair holds its own WebRTC call; each page
// shows three remote videos whose frames advance and hears three remote audio tracks.

/** Runs `fn(window.groupPage, arg)` in `page`. */
const run = async <T>(page: Page, fn: (g: GroupPage, arg: unknown) => T | Promise<T>, arg?: unknown): Promise<T> => runIn(page, 'groupPage', fn, arg)

describe('group calls of four and of six Chromium pages, every pair peer to peer', () => {
  let relay: E2eRelay | undefined
  let server: PageServer | undefined
  let browser: E2eBrowser | undefined
  const pages: Page[] = []

  beforeAll(async () => {
    const started = await Promise.allSettled([
      startRelay({ args: ['--max-reservations-per-address', '64'] }).then((r) => { relay = r }),
      servePages(['group']).then((s) => { server = s }),
      launchBrowser().then((b) => { browser = b })
    ])
    throwFirstRejection(started)
  })

  afterAll(async () => {
    for (const p of pages) await p.context().close().catch(() => {})
    const closed = await Promise.allSettled([browser?.close(), server?.close(), relay?.stop()])
    throwFirstRejection(closed)
  })

  /** A page with its client registered as `@<label>-group.aura`; `query`: the group page's options (`video=WxH@FPS`, `aic=off`). */
  async function user (label: string, query = ''): Promise<{ page: Page, name: string }> {
    const page = await browser!.newPage(label)
    pages.push(page)
    await page.goto(server!.url('group') + (query !== '' ? `?${query}` : ''), { timeout: 15_000 })
    await page.waitForFunction(() => 'groupPage' in window, undefined, { timeout: 10_000 })
    const name = `@${label}-group.aura`
    await run(page, async (g, a) => g.start((a as string[])[0]!, (a as string[])[1]!), [relay!.addr, name])
    return { page, name }
  }

  /** Every page sees `n` others connected, each with advancing video and live audio. */
  async function everyoneSees (ps: Page[], n: number, timeoutMs: number): Promise<void> {
    for (const p of ps) {
      const first = await until('participants connected with video and audio', async () => run(p, (g) => g.participants()),
        (list) => list.filter((x) => x.state === 'connected' && x.frames > 0 && x.audio > 0).length >= n, timeoutMs)
        .catch(async (err: Error) => { throw new Error(`${err.message}; pair calls that ended on that page: ${JSON.stringify(await run(p, (g) => g.lefts()))}`) })
      // then every video advances: a new pair's video has held its first frames for 2 to 3.3 s in
      // some runs (docs/group-calls.md: not yet explained); how long is logged
      const t0 = Date.now()
      const later = await until('videos advancing', async () => run(p, (g) => g.participants()), (list) =>
        first.filter((y) => y.state === 'connected').every((x) => (list.find((y) => y.auraId === x.auraId)?.frames ?? 0) > x.frames), 10_000)
      if (Date.now() - t0 > 1_500) console.log(`[group] a video held for ${Date.now() - t0} ms before advancing: ${JSON.stringify(first)}`)
      for (const x of later) if (x.replaced > 0) console.log(`[group] ${x.auraId}'s tile stream was replaced ${x.replaced} time(s)`)
    }
  }

  it('alice calls bob and carol, then invites dave: each page shows three remote videos with advancing frames and hears three audio tracks; alice\'s small uplink shared among her pairs caps each and her video goes on; a chat reaches all; carol leaves (seen within 2 s, the others keep their media); dave\'s page closes without leaving (seen within 10 s)', async () => {
    const [alice, bob, carol, dave] = [await user('alice'), await user('bob'), await user('carol'), await user('dave')]
    expect(await run(alice.page, async (g, a) => g.call(a as string[]), [bob.name, carol.name])).toBeNull()
    await everyoneSees([alice.page, bob.page, carol.page], 2, 40_000)
    expect(await run(alice.page, async (g, a) => g.invite(a as string), dave.name)).toBeNull()
    await everyoneSees([alice.page, bob.page, carol.page, dave.page], 3, 60_000)

    // alice shares a small uplink among her three pairs: each pair's budget is a third of it, what
    // she sends each falls well below the ~210 kbit/s a pair takes uncapped (video plus ~45 of
    // audio and overhead), and her video keeps advancing on the three other pages (a cap that
    // stopped video is how it failed when first tried beside AIC: docs/group-calls.md)
    expect(await run(alice.page, async (g) => g.pairs())).toEqual(expect.arrayContaining([expect.objectContaining({ videoBudgetBps: 833_333 })]))
    await run(alice.page, async (g) => { g.setUplink(150_000) })
    await new Promise((resolve) => setTimeout(resolve, 3_000))
    const p0 = await run(alice.page, async (g) => g.pairs())
    const w0 = Date.now()
    await new Promise((resolve) => setTimeout(resolve, 5_000))
    const p1 = await run(alice.page, async (g) => g.pairs())
    const rates = p1.map((x) => ({ auraId: x.auraId, budget: x.videoBudgetBps, kbps: Math.round((x.bytesSent - (p0.find((y) => y.auraId === x.auraId)?.bytesSent ?? 0)) * 8 / (Date.now() - w0)) }))
    console.log(`[group] alice's pairs with a 150 kbit/s uplink: ${JSON.stringify(rates)}`)
    for (const r of rates) {
      expect(r.budget).toBe(50_000)
      expect(r.kbps).toBeLessThan(150)
    }
    await everyoneSees([bob.page, carol.page, dave.page], 3, 10_000)

    await run(bob.page, async (g) => g.send('hi from bob'))
    for (const p of [alice.page, carol.page, dave.page]) {
      await until('bob\'s message', async () => run(p, (g) => g.messages()), (m) => m.includes(`${bob.name}: hi from bob`), 10_000)
    }

    const t0 = await alice.page.evaluate(() => performance.now())
    await run(carol.page, async (g) => g.leave())
    for (const p of [alice.page, bob.page, dave.page]) {
      const l = await until('carol left', async () => run(p, (g) => g.lefts()), (x) => x.some((y) => y.auraId === carol.name), 5_000)
      expect(l.find((y) => y.auraId === carol.name)?.reason).toBe('left the room')
    }
    // within 2 s (alice's clock: her page saw it)
    const seen = (await run(alice.page, (g) => g.lefts())).find((y) => y.auraId === carol.name)!.at - t0
    expect(seen).toBeLessThan(2_000)
    await everyoneSees([alice.page, bob.page, dave.page], 2, 10_000)

    // dave's page is closed: no leave; the others notice when his calls' liveness checks end them
    const closedAt = Date.now()
    await dave.page.context().close()
    for (const p of [alice.page, bob.page]) await until('dave gone', async () => run(p, (g) => g.lefts()), (x) => x.some((y) => y.auraId === dave.name), 15_000)
    const noticed = Date.now() - closedAt
    console.log(`[group] carol's leave seen in ${Math.round(seen)} ms; dave's closed page noticed in ${noticed} ms`)
    expect(noticed).toBeLessThan(10_000 + 1_000)
    await everyoneSees([alice.page, bob.page], 1, 10_000)
    // the six-page test next needs the machine: this room's pages go (left open, alice's and bob's
    // call went on beside it, and on this 2-core machine starved the relay of CPU: its pings
    // timed out and pages lost their reservations)
    for (const p of [alice, bob, carol]) await p.page.context().close()
  })

  it('six pages: alice calls the five others at once; every page shows five remote videos advancing and hears five audio tracks (all fifteen pairs up); a chat from the last page reaches the other five', async () => {
    // Six browsers on this 2-core machine hold thirty encoders and thirty decoders: the pages send
    // 160x120 at 10 fps with AIC off (bench/group-call.mjs: at that size six pages take 24% of a
    // core each with AIC off and 33% with it on, and with it on the last page saw everyone after
    // 20 s instead of 7 s; docs/group-calls.md). The four-page test above runs AIC and 320x240.
    const six = []
    for (const label of ['amy', 'ben', 'cat', 'dan', 'eve', 'fay']) six.push(await user(label, 'video=160x120@10&aic=off'))
    const [first, ...others] = six
    expect(await run(first!.page, async (g, a) => g.call(a as string[]), others.map((o) => o.name))).toBeNull()
    await everyoneSees(six.map((x) => x.page), 5, 90_000)
    const last = six.at(-1)!
    const delivery = await run(last.page, async (g) => g.send('hello from six'))
    expect(delivery.unreached).toEqual([])
    expect(delivery.to.sort()).toEqual(others.slice(0, -1).map((o) => o.name).concat(first!.name).sort())
    for (const p of six.slice(0, -1)) {
      await until(`the sixth page's message on ${p.name}'s page`, async () => run(p.page, (g) => g.messages()), (m) => m.includes(`${last.name}: hello from six`), 10_000)
        .catch(async (err: Error) => { throw new Error(`${err.message}; that page's participants: ${JSON.stringify(await run(p.page, (g) => g.participants()))}; the sixth page's: ${JSON.stringify(await run(last.page, (g) => g.participants()))}`) })
    }
    for (const p of six) await p.page.context().close()
  })

  it('call([]) and call() of the same name twice are TypeErrors naming the input', async () => {
    const erin = await user('erin')
    const empty = await run(erin.page, async (g) => g.call([]))
    expect(empty).toMatchObject({ name: 'TypeError' })
    expect((empty as GroupPageError).message).toMatch(/targets must name at least one AuraID/)
    const twice = await run(erin.page, async (g) => g.call(['@x-group.aura', '@x-group.aura']))
    expect((twice as GroupPageError).message).toMatch(/named twice/)
  })
})
