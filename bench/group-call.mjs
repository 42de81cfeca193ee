/* global window -- the functions passed to page.evaluate() run in the page */
// bench/group-call.mjs: what a peer-to-peer group call (issue 18; docs/group-calls.md) costs on
// this machine, for 2 to 6 participants. Each participant is a Chromium page (e2e/pages/group.html:
// fake camera at 320x240, 15 fps, and microphone) with its own AuraLink client, through one relay
// process; the first page calls all the others at once. Reported per size N: the time from call()
// until the last page sees every other participant's video (each pair's call connected and frames
// presented), the bits each participant sends and receives over a steady window, the machine's
// CPU per participant over that window (all N pages share this 2-core machine: the pages' encoders
// compete with each other, so per-participant CPU here is an upper bound of a device's own), and
// beside it the same group through one server (an SFU), computed, not measured:
// each participant then sends one stream instead of N-1 and receives N-1, and the server forwards
// N(N-1) streams (docs/group-calls.md says where its per-consumer cost comes from).
//
// Usage: scripts/netns.sh node bench/group-call.mjs [--sizes 2,3,4,5,6] [--seconds 10] [--video WxH@FPS]
//   --video: the fake camera's size and rate (default 320x240@15); GROUP_AIC=off: AIC off in every page
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { launchBrowser } from '../e2e/harness/browser.ts'
import { servePages } from '../e2e/harness/server.ts'
import { requireNetns, round, startRelay, writeResult } from './lib.mjs'

requireNetns('bench/group-call.mjs')
const { values: opts } = parseArgs({ options: { sizes: { type: 'string', default: '2,3,4,5,6' }, seconds: { type: 'string', default: '10' }, video: { type: 'string' } } })
const sizes = opts.sizes.split(',').map(Number)
const seconds = Number(opts.seconds)
if (sizes.some((n) => !Number.isInteger(n) || n < 2 || n > 8) || !(seconds >= 3 && seconds <= 120) || (opts.video !== undefined && !/^\d{2,4}x\d{2,4}@\d{1,2}$/.test(opts.video))) {
  console.error('usage: scripts/netns.sh node bench/group-call.mjs [--sizes 2,3,4 (each 2-8)] [--seconds 3-120] [--video WxH@FPS, e.g. 160x120@10]')
  process.exit(2)
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** A room size whose pages did not all see each other in time (its `detail`: what they saw). */
class SizeFailed extends Error {
  constructor (message, detail) {
    super(message)
    this.detail = detail
  }
}

/** CPU seconds the whole machine spent busy so far (all cores; /proc/stat, 100 ticks a second). */
function machineBusySeconds () {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
  // user nice system idle iowait irq softirq steal
  return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / 100
}

/** Runs `fn(window.groupPage, arg)` in `page`. */
const run = async (page, fn, arg) => page.evaluate(async ([src, a]) => new Function(`return (${src})`)()(window.groupPage, a), [fn.toString(), arg])

const relay = await startRelay({ args: ['--max-reservations-per-address', '256'] })
const server = await servePages(['group'])
// AURALINK_BENCH_PAGE_LOG=1: the pages' console (with AURALINK_E2E_DEBUG's namespaces) on stderr
const browser = await launchBrowser(process.env.AURALINK_BENCH_PAGE_LOG === '1' ? {} : { log: () => {} })
const rows = []
const SIZE_WORDS = ['', '', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight']
const PEOPLE = ['amy', 'ben', 'cat', 'dan', 'eve', 'fay', 'gus', 'hal']
try {
  for (const size of sizes) {
    const pages = []
    try {
      const names = []
      for (let i = 0; i < size; i++) {
        const page = await browser.newPage(`p${i}`)
        const query = new URLSearchParams({ ...(process.env.GROUP_AIC === 'off' ? { aic: 'off' } : {}), ...(opts.video !== undefined ? { video: opts.video } : {}) }).toString()
        await page.goto(server.url('group') + (query !== '' ? `?${query}` : ''))
        await page.waitForFunction(() => 'groupPage' in window)
        // words, not numbers: the directory refuses a name that looks like one another key holds
        // (@bench18 and @bench10 are confusable), so each room's names are its size and a person
        const name = `@${SIZE_WORDS[size]}-${PEOPLE[i]}-bench.aura`
        await run(page, async (g, a) => g.start(a[0], a[1]), [relay.addr, name])
        pages.push(page)
        names.push(name)
      }
      const t0 = Date.now()
      const err = await run(pages[0], async (g, a) => g.call(a), names.slice(1))
      if (err !== null) throw new Error(`call: ${err.name}: ${err.message}`)
      // every page sees every other's video
      const seen = []
      for (const page of pages) {
        for (let i = 0; ; i++) {
          const ps = await run(page, (g) => g.participants())
          if (ps.filter((x) => x.state === 'connected' && x.frames > 0).length >= size - 1) break
          if (Date.now() - t0 > 90_000) throw new SizeFailed(`page ${pages.indexOf(page)} saw ${ps.filter((x) => x.state === 'connected' && x.frames > 0).length} of ${size - 1} others within 90 s; pairs that ended there: ${JSON.stringify(await run(page, (g) => g.lefts()))}`, `${JSON.stringify(ps)}; ${JSON.stringify(await run(page, async (g) => g.inspect()))}`)
          await sleep(100)
        }
        seen.push(Date.now() - t0)
      }
      // steady: the encoders' bitrate settles
      await sleep(3_000)
      const b0 = await Promise.all(pages.map(async (p) => run(p, async (g) => g.bytes())))
      const cpu0 = machineBusySeconds()
      const w0 = performance.now()
      await sleep(seconds * 1000)
      const wall = (performance.now() - w0) / 1000
      const cpu = (machineBusySeconds() - cpu0) / wall
      const b1 = await Promise.all(pages.map(async (p) => run(p, async (g) => g.bytes())))
      const sentKbps = b1.map((b, i) => (b.sent - b0[i].sent) * 8 / wall / 1000)
      const recvKbps = b1.map((b, i) => (b.received - b0[i].received) * 8 / wall / 1000)
      const mean = (xs) => xs.reduce((a, x) => a + x, 0) / xs.length
      // the same room through one server: each sends one stream (what a pair gets here) and receives N-1
      const perStreamKbps = mean(sentKbps) / (size - 1)
      const row = {
        participants: size,
        lastSeesEveryoneMs: Math.max(...seen),
        cpuPercentPerParticipant: round(cpu * 100 / size, 1),
        sentKbpsPerParticipant: round(mean(sentKbps), 0),
        receivedKbpsPerParticipant: round(mean(recvKbps), 0),
        sentKbpsPerPair: round(perStreamKbps, 0),
        sfu: { sentKbpsPerParticipant: round(perStreamKbps, 0), receivedKbpsPerParticipant: round(perStreamKbps * (size - 1), 0), streamsForwardedByServer: size * (size - 1) }
      }
      rows.push(row)
      console.log(JSON.stringify(row))
    } catch (err) {
      // a size that does not come together is a result too: recorded, and the next size runs
      if (!(err instanceof SizeFailed)) throw err
      console.error(`size ${size} failed: ${err.message}\n${err.detail}`)
      rows.push({ participants: size, failed: err.message })
    } finally {
      for (const p of pages) await p.context().close().catch(() => {})
    }
  }
} finally {
  await browser.close()
  await server.close()
  await relay.stop()
}

console.log(`\ngroup calls, every pair peer to peer: Chromium pages with the fake camera (${opts.video ?? '320x240@15'}${process.env.GROUP_AIC === 'off' ? ', AIC off' : ''}) on this 2-core machine, ${seconds} s steady`)
console.log('| participants | last page sees everyone (ms) | CPU per participant (% of a core) | sent kbit/s per participant | per pair | received kbit/s | SFU: sent | SFU: received | SFU: streams the server forwards |')
console.log('|---|---|---|---|---|---|---|---|---|')
for (const r of rows) {
  if (r.failed !== undefined) { console.log(`| ${r.participants} | failed: ${r.failed.slice(0, 120)} | | | | | | | |`); continue }
  console.log(`| ${r.participants} | ${r.lastSeesEveryoneMs} | ${r.cpuPercentPerParticipant} | ${r.sentKbpsPerParticipant} | ${r.sentKbpsPerPair} | ${r.receivedKbpsPerParticipant} | ${r.sfu.sentKbpsPerParticipant} | ${r.sfu.receivedKbpsPerParticipant} | ${r.sfu.streamsForwardedByServer} |`)
}
// the default run writes bench/results/group-call.json; a run with --video or GROUP_AIC=off its own file beside it
const variant = `${opts.video !== undefined ? `-${opts.video.replace('@', 'at')}` : ''}${process.env.GROUP_AIC === 'off' ? '-aic-off' : ''}`
writeResult(`group-call${variant}`, { options: { sizes, seconds, video: opts.video ?? '320x240@15', aic: process.env.GROUP_AIC === 'off' ? 'off' : 'default' }, rows })
