/* global window -- the functions passed to page.evaluate() run in the page */
// bench/reconnect: how long a call takes to heal after a network drop, in Chromium. One AuraLink
// call and, beside it in the same drops, one PeerJS call (between two other pages of the same
// browser): every path between the pages is broken for --down-ms (both veth links down and the
// pair's addresses blackholed on lo: e2e/harness/netns-link.ts), then mended; the figure is the
// time from the path's return to the caller's remote video presenting frames again (3 new frames,
// getVideoPlaybackQuality), per drop, over --drops drops. A call that has not healed within
// --heal-timeout-ms counts as a failure; a drop during whose last second the video kept coming did
// not break that call's path and is not counted (\`unbroken\`) (PeerJS has no ICE restart: its call heals only where
// the browser's ICE does by itself); a failed or ended call is placed again before the next drop.
// Run: scripts/netns.sh node bench/reconnect.mjs [--drops 20] [--down-ms 5000] [--heal-timeout-ms 30000]
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { linkDown, linkUp, restoreLinks } from '../e2e/harness/netns-link.ts'
import { browserBench, ok } from './browser-lib.mjs'
import { progress, requireNetns, round, summary, writeResult } from './lib.mjs'

requireNetns('reconnect')
const { values } = parseArgs({ options: { drops: { type: 'string', default: '20' }, 'down-ms': { type: 'string', default: '5000' }, 'heal-timeout-ms': { type: 'string', default: '30000' } } })
const drops = Number(values.drops)
const downMs = Number(values['down-ms'])
const healTimeoutMs = Number(values['heal-timeout-ms'])
const NEW_FRAMES = 3
const sleep = async (ms) => new Promise((resolve) => setTimeout(resolve, ms))

const bench = await browserBench()
const load = { before: loadavg().map((x) => round(x)) }
try {
  const alice = await bench.auralink('@alice-reconnect.aura')
  const bob = await bench.auralink('@bob-reconnect.aura')
  const pjA = await bench.peerjs('alice-reconnect')
  await bench.peerjs('bob-reconnect')

  const stacks = {
    auralink: {
      page: alice,
      async place () {
        ok(await alice.evaluate(async () => window.sdkPage.timedCall('@bob-reconnect.aura', 30_000)), 'AuraLink call')
      },
      async live () {
        return alice.evaluate(() => { try { return window.sdkPage.states().at(-1)?.state !== 'ended' } catch { return false } })
      },
      async hangup () {
        await alice.evaluate(async () => window.sdkPage.hangup()).catch(() => {})
        await bob.evaluate(async () => window.sdkPage.waitState('ended', 10_000)).catch(() => {})
      },
      frames: async () => alice.evaluate(() => window.sdkPage.videoFrames())
    },
    peerjs: {
      page: pjA,
      async place () {
        await pjA.evaluate(async () => window.peerjsPage.timedCall('bob-reconnect', 30_000))
      },
      async live () { return true },
      async hangup () {
        await pjA.evaluate(() => window.peerjsPage.hangup()).catch(() => {})
        await sleep(500)
      },
      frames: async () => pjA.evaluate(() => window.peerjsPage.videoFrames())
    }
  }
  const samples = { auralink: [], peerjs: [] }
  const failures = { auralink: [], peerjs: [] }
  const needsCall = { auralink: true, peerjs: true }
  /** Drops during which a stack's video kept coming: not counted. */
  const unbroken = { auralink: 0, peerjs: 0 }

  /** Resolves with ms from `t0` until `stack`'s remote video presents NEW_FRAMES new frames, or undefined after the heal timeout. */
  async function healed (stack, t0) {
    const f0 = await stack.frames()
    while (performance.now() - t0 < healTimeoutMs) {
      if ((await stack.frames()) >= f0 + NEW_FRAMES) return performance.now() - t0
      await sleep(20)
    }
    return undefined
  }

  for (let i = 1; i <= drops; i++) {
    for (const [name, stack] of Object.entries(stacks)) {
      if (!needsCall[name] && await stack.live()) continue
      await stack.hangup()
      try {
        await stack.place()
        needsCall[name] = false
      } catch (err) {
        failures[name].push(`drop ${i}: placing the call: ${err.message}`)
      }
    }
    // both calls flowing before the drop
    await sleep(1_000)
    await linkDown()
    await sleep(Math.max(0, downMs - 1_000))
    // a drop counts only where it stopped the video: the last second of it must show no new frames
    // (after some drops Chromium may find a path that the drop does not break, e.g. over loopback)
    const late = { auralink: await stacks.auralink.frames(), peerjs: await stacks.peerjs.frames() }
    await sleep(Math.min(downMs, 1_000))
    const flowing = { auralink: (await stacks.auralink.frames()) - late.auralink > 2, peerjs: (await stacks.peerjs.frames()) - late.peerjs > 2 }
    await linkUp()
    const t0 = performance.now()
    const [a, p] = await Promise.all([healed(stacks.auralink, t0), healed(stacks.peerjs, t0)])
    for (const [name, ms] of [['auralink', a], ['peerjs', p]]) {
      if (flowing[name]) unbroken[name]++
      else if (ms !== undefined) samples[name].push(ms)
      else {
        failures[name].push(`drop ${i}: no new frames within ${healTimeoutMs} ms of the path's return`)
        needsCall[name] = true
      }
    }
    progress('drops', i, drops)
  }
  const reconnects = ok(await alice.evaluate(async () => window.sdkPage.stats().then((s) => s.reconnects).catch((err) => ({ name: err.name, message: err.message }))), 'stats')
  load.after = loadavg().map((x) => round(x))
  const a = summary(samples.auralink)
  const p = summary(samples.peerjs)
  const result = {
    drops,
    downMs,
    healTimeoutMs,
    unit: `ms from the path's return to ${NEW_FRAMES} new remote video frames presented`,
    loadavg: load,
    note: 'taken on a shared 2-core machine (other work running): see loadavg',
    auralink: { ...a, unbroken: unbroken.auralink, failures: failures.auralink.length, errors: failures.auralink.slice(0, 5), samples: samples.auralink.map((x) => round(x, 1)), reconnectsOfLastCall: reconnects },
    peerjs: { ...p, unbroken: unbroken.peerjs, failures: failures.peerjs.length, errors: failures.peerjs.slice(0, 5), samples: samples.peerjs.map((x) => round(x, 1)) }
  }
  console.log(`AuraLink: healed ${samples.auralink.length} of ${drops} drops (${unbroken.auralink} did not stop its video); p50 ${a.p50} ms, p95 ${a.p95} ms after the path's return`)
  console.log(`PeerJS:   healed ${samples.peerjs.length} of ${drops} drops (${unbroken.peerjs} did not stop its video); p50 ${p.p50} ms, p95 ${p.p95} ms after the path's return`)
  console.log(`load average ${load.before.join(' ')} -> ${load.after.join(' ')}`)
  writeResult('reconnect', result)
} finally {
  await restoreLinks().catch((err) => { console.error(`restoring the links: ${err.message}`) })
  await bench.close()
}
