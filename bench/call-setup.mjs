/* global window -- the functions passed to page.evaluate() run in the page */
// bench/call-setup: in Chromium, the time from call('@bob.aura') (getUserMedia included) to the
// first remote video frame presented (requestVideoFrameCallback), over N calls, next to PeerJS
// doing the same media call between two pages of the same browser, in the same run
// (interleaved: one AuraLink call, one PeerJS call, ...). Each call is hung up before the next.
// Run: scripts/netns.sh node bench/call-setup.mjs [--calls 20]
import { parseArgs } from 'node:util'
import { browserBench, ok } from './browser-lib.mjs'
import { progress, requireNetns, round, summary, writeResult } from './lib.mjs'

requireNetns('call-setup')
const { values } = parseArgs({ options: { calls: { type: 'string', default: '20' } } })
const calls = Number(values.calls)

const bench = await browserBench()
try {
  const alice = await bench.auralink('@alice-bench.aura')
  const bob = await bench.auralink('@bob-bench.aura')
  const pjA = await bench.peerjs('alice-bench')
  await bench.peerjs('bob-bench')
  const auralink = []
  const phases = []
  const peerjs = []
  const failures = { auralink: [], peerjs: [] }
  for (let i = 1; i <= calls; i++) {
    try {
      const r = ok(await alice.evaluate(async () => window.sdkPage.timedCall('@bob-bench.aura', 30_000)), 'AuraLink call')
      auralink.push(r.ms)
      phases.push({ invited: round(r.invitedMs, 1), connected: round(r.connectedMs, 1), firstFrame: round(r.ms, 1) })
      await alice.evaluate(async () => window.sdkPage.hangup())
      ok(await bob.evaluate(async () => window.sdkPage.waitState('ended', 10_000)), 'bob ended')
    } catch (err) {
      failures.auralink.push(err.message)
    }
    try {
      peerjs.push(await pjA.evaluate(async () => window.peerjsPage.timedCall('bob-bench', 30_000)))
      await pjA.evaluate(() => window.peerjsPage.hangup())
      await new Promise((resolve) => setTimeout(resolve, 500)) // let the callee see the close
    } catch (err) {
      failures.peerjs.push(err.message)
    }
    progress('calls', i, calls)
  }
  const a = summary(auralink)
  const p = summary(peerjs)
  const result = {
    calls,
    unit: 'ms from call() to the first remote video frame',
    auralink: {
      ...a,
      failures: failures.auralink.length,
      errors: failures.auralink.slice(0, 5),
      samples: auralink.map((x) => round(x, 1)),
      // per call: ms from call() to the invite sent (getUserMedia, resolve, dial, stream), to 'connected' (media ICE+DTLS), to the first frame
      phases,
      invited: summary(phases.map((p) => p.invited))
    },
    peerjs: { ...p, failures: failures.peerjs.length, errors: failures.peerjs.slice(0, 5), samples: peerjs.map((x) => round(x, 1)) },
    ratio: { p50: round(a.p50 / p.p50), p95: round(a.p95 / p.p95) }
  }
  console.log(`AuraLink call setup: p50 ${a.p50} ms, p95 ${a.p95} ms (${auralink.length} calls, ${failures.auralink.length} failed)`)
  console.log(`PeerJS   call setup: p50 ${p.p50} ms, p95 ${p.p95} ms (${peerjs.length} calls, ${failures.peerjs.length} failed)`)
  console.log(`ratio AuraLink/PeerJS: p50 ${result.ratio.p50}, p95 ${result.ratio.p95}`)
  writeResult('call-setup', result)
} finally {
  await bench.close()
}
