/* global window -- the functions passed to page.evaluate() run in the page */
// bench/call-setup: in Chromium, the time from call('@bob.aura') (getUserMedia included) to the
// first remote video frame presented (requestVideoFrameCallback), next to PeerJS doing the same
// media call between pages of the same browser, in the same run, interleaved (one AuraLink call,
// one PeerJS call, ...). Each call is hung up before the next.
//   first calls: the caller calls `--first` callees it has never called, each in a page of its
//     own (a new peer: AuraLink resolves, dials a new WebRTC connection and negotiates media;
//     PeerJS sets up its own peer connection through its server). The caller's very first call
//     also opens its (fake) camera for the first time.
//   repeat calls: `--calls` more calls to the first callee (AuraLink: the connection is open).
// Per AuraLink call it records the caller's and the callee's setup steps (`call.stats().setup`).
// Run: scripts/netns.sh node bench/call-setup.mjs [--calls 20] [--first 5]
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { browserBench, ok } from './browser-lib.mjs'
import { progress, requireNetns, round, summary, writeResult } from './lib.mjs'

requireNetns('call-setup')
const { values } = parseArgs({ options: { calls: { type: 'string', default: '20' }, first: { type: 'string', default: '5' } } })
const calls = Number(values.calls)
const firsts = Number(values.first)
if (!(calls >= 1) || !(firsts >= 1)) throw new RangeError(`--calls and --first must be >= 1, got ${values.calls} and ${values.first}`)

const loadBefore = loadavg()
// every page comes from 127.0.0.1: more reservations than the relay's default 8 per address
const bench = await browserBench({ relayArgs: ['--max-reservations-per-address', '64'] })
try {
  const alice = await bench.auralink('@alice-bench.aura')
  const bobs = []
  for (let k = 1; k <= firsts; k++) bobs.push(await bench.auralink(`@bob${k}-bench.aura`))
  const pjA = await bench.peerjs('alice-bench')
  for (let k = 1; k <= firsts; k++) await bench.peerjs(`bob${k}-bench`)

  const runs = { first: { auralink: [], peerjs: [] }, repeat: { auralink: [], peerjs: [] } }
  const failures = { auralink: [], peerjs: [] }

  async function auralinkCall (k, kind) {
    try {
      const r = ok(await alice.evaluate(async (name) => window.sdkPage.timedCall(name, 30_000), `@bob${k}-bench.aura`), 'AuraLink call')
      const callee = await bobs[k - 1].evaluate(async () => window.sdkPage.setup())
      runs[kind].auralink.push({ ms: round(r.ms, 1), connected: round(r.connectedMs, 1), caller: r.setup, callee })
      await alice.evaluate(async () => window.sdkPage.hangup())
      ok(await bobs[k - 1].evaluate(async () => window.sdkPage.waitState('ended', 10_000)), 'bob ended')
    } catch (err) {
      failures.auralink.push(`${kind} ${k}: ${err.message}`)
    }
  }

  async function peerjsCall (k, kind) {
    try {
      runs[kind].peerjs.push({ ms: round(await pjA.evaluate(async (id) => window.peerjsPage.timedCall(id, 30_000), `bob${k}-bench`), 1) })
      await pjA.evaluate(() => window.peerjsPage.hangup())
      await new Promise((resolve) => setTimeout(resolve, 500)) // let the callee see the close
    } catch (err) {
      failures.peerjs.push(`${kind} ${k}: ${err.message}`)
    }
  }

  for (let k = 1; k <= firsts; k++) {
    await auralinkCall(k, 'first')
    await peerjsCall(k, 'first')
    progress('first calls', k, firsts)
  }
  for (let i = 1; i <= calls; i++) {
    await auralinkCall(1, 'repeat')
    await peerjsCall(1, 'repeat')
    progress('repeat calls', i, calls)
  }

  // the median of each setup step over the calls that reached it
  const steps = (list, side) => {
    const keys = [...new Set(list.flatMap((c) => Object.keys(c[side] ?? {})))].filter((k) => k !== 'reusedConnection')
    const med = Object.fromEntries(keys.map((k) => [k, summary(list.map((c) => c[side]?.[k]).filter((v) => typeof v === 'number')).p50]))
    return Object.fromEntries(Object.entries(med).sort((a, b) => a[1] - b[1]))
  }
  const report = (kind) => {
    const a = summary(runs[kind].auralink.map((c) => c.ms))
    const p = summary(runs[kind].peerjs.map((c) => c.ms))
    return {
      auralink: {
        ...a,
        samples: runs[kind].auralink.map((c) => c.ms),
        // medians of the setup steps: the caller's in ms since call(), the callee's since the invite arrived
        steps: { caller: steps(runs[kind].auralink, 'caller'), callee: steps(runs[kind].auralink, 'callee') },
        calls: runs[kind].auralink
      },
      peerjs: { ...p, samples: runs[kind].peerjs.map((c) => c.ms) },
      ratio: { p50: round(a.p50 / p.p50), p95: round(a.p95 / p.p95) }
    }
  }
  const result = {
    unit: 'ms from call() to the first remote video frame',
    firstCalls: firsts,
    repeatCalls: calls,
    // a shared machine: the load average (1, 5, 15 min) before and after the run
    loadavg: { before: loadBefore.map((x) => round(x)), after: loadavg().map((x) => round(x)) },
    first: report('first'),
    repeat: report('repeat'),
    failures: { auralink: failures.auralink.length, peerjs: failures.peerjs.length, errors: [...failures.auralink, ...failures.peerjs].slice(0, 10) }
  }
  for (const kind of ['first', 'repeat']) {
    const r = result[kind]
    console.log(`${kind} calls: AuraLink p50 ${r.auralink.p50} ms, p95 ${r.auralink.p95} ms (n ${r.auralink.n}); PeerJS p50 ${r.peerjs.p50} ms, p95 ${r.peerjs.p95} ms (n ${r.peerjs.n}); ratio p50 ${r.ratio.p50}, p95 ${r.ratio.p95}`)
    console.log(`  AuraLink caller steps (p50 ms): ${Object.entries(r.auralink.steps.caller).map(([k, v]) => `${k} ${v}`).join(', ')}`)
    console.log(`  AuraLink callee steps (p50 ms since the invite): ${Object.entries(r.auralink.steps.callee).map(([k, v]) => `${k} ${v}`).join(', ')}`)
  }
  console.log(`failures: AuraLink ${failures.auralink.length}, PeerJS ${failures.peerjs.length}; load average ${result.loadavg.before.join(' ')} before, ${result.loadavg.after.join(' ')} after`)
  writeResult('call-setup', result)
} finally {
  await bench.close()
}
