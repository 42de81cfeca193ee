// bench/connect: how long it takes to reach @bob.aura.
// 50 rounds of: resolve @bob.aura at the relay's directory (no cache), dial it (WebRTC through
// the relay, direct), open a stream and get one echoed byte back; then hang up.
// Each round does that twice, in alternating order: between two nodes as AuraLink makes them (the
// offerer is the DTLS client), and, as the baseline, between two nodes that leave the DTLS roles as
// libp2p and node-datachannel set them (`dtlsClient: 'answerer'`, @bob-baseline.aura in a peer
// process of its own): docs/benchmarks.md says why the roles matter.
// Also: relay reservation time for fresh nodes. Real relay-node process, peers in their own processes.
// The machine may be shared: the 1-minute load average is sampled every 5 s and recorded.
// Run: scripts/netns.sh node bench/connect.mjs [--rounds 50] [--reservations 10]
import { spawn } from 'node:child_process'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createMeshNode } from '@auralink/mesh'
import { progress, requireNetns, root, round, startPeer, startRelay, summary, writeResult } from './lib.mjs'

requireNetns('connect')
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '50' }, reservations: { type: 'string', default: '10' } } })
const rounds = Number(values.rounds)
const loadavgAtStart = loadavg().map((x) => round(x))
const loadSamples = [loadavg()[0]]
const loadTimer = setInterval(() => loadSamples.push(loadavg()[0]), 5000)
// every node here reserves on one relay from one address, and the reservation loop starts ten in a
// row: the relay's per-address reservation cap and connection rate would otherwise turn some
// reservation waits into 20 s timeouts (as in bench/create)
const relay = await startRelay({ args: ['--max-reservations-per-address', '1000', '--inbound-connection-rate', '1000'] })
const bob = await startPeer(relay.addr, '@bob.aura')
const bobBaseline = await startBaselinePeer(relay.addr, '@bob-baseline.aura')

/** bench/peer.mjs with the DTLS roles node-datachannel picks by itself (as lib.mjs's startPeer, one flag more). */
function startBaselinePeer (relayAddr, name) {
  const child = spawn(process.execPath, [join(root, 'bench/peer.mjs'), '--relay', relayAddr, '--name', name, '--dtls-client', 'answerer'], { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill(); reject(new Error('baseline peer did not start in 30 s')) }, 30_000)
    child.stdout.on('data', (d) => { if (String(d).startsWith('ready')) { clearTimeout(timer); resolve(child) } })
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`baseline peer exited with ${code}`)) })
  })
}

const reservationMs = []
for (let i = 0; i < Number(values.reservations); i++) {
  const n = await createMeshNode({ relays: [relay.addr], relayCheckIntervalMs: 100 })
  const t0 = performance.now()
  await n.start()
  await n.waitForReservation({ signal: AbortSignal.timeout(20_000) })
  reservationMs.push(performance.now() - t0)
  await n.stop()
}

/** One dialling node and what its dials measured. */
async function dialler (label, name, dtlsClient) {
  const node = await createMeshNode({ relays: [relay.addr], dtlsClient })
  await node.start()
  await node.waitForReservation({ signal: AbortSignal.timeout(20_000) })
  const d = { label, name, node, resolveMs: [], firstByteMs: [], totalMs: [], firstTryFailures: 0, failures: 0, closeTimeouts: 0, retryReasons: {} }
  node.addEventListener('dial:retry', ({ detail }) => {
    const reason = detail.error.message.replace(/12D3KooW\w+/g, '<peer>').slice(0, 120)
    d.retryReasons[reason] = (d.retryReasons[reason] ?? 0) + 1
  })
  return d
}

async function oneRound (d, i) {
  const t0 = performance.now()
  try {
    await d.node.resolve(d.name, { cache: false })
    const t1 = performance.now()
    const conn = await d.node.dial(d.name)
    if (conn.path !== 'direct') throw new Error(`connection is ${conn.path}`)
    if (conn.attempts > 1) d.firstTryFailures++
    const stream = await conn.newStream('/bench/echo/1.0.0')
    stream.send(new Uint8Array([i & 0xff]))
    for await (const chunk of stream) { if (chunk.byteLength > 0) break }
    const t2 = performance.now()
    if (process.env.BENCH_VERBOSE) console.error(`round ${i} (${d.label}): resolve ${(t1 - t0).toFixed(1)} ms, dial+echo ${(t2 - t1).toFixed(1)} ms, attempts ${conn.attempts}`)
    d.resolveMs.push(t1 - t0)
    d.firstByteMs.push(t2 - t1)
    d.totalMs.push(t2 - t0)
    stream.abort(new Error('done'))
    await conn.close({ signal: AbortSignal.timeout(5000) }).catch((err) => {
      d.closeTimeouts++
      conn.connection.abort(err)
    })
  } catch (err) {
    d.failures++
    console.error(`round ${i} (${d.label}) failed: ${err.message}`)
    if (process.env.BENCH_VERBOSE) console.error(err.stack)
  }
}

const alice = await dialler('AuraLink', '@bob.aura', 'offerer')
const baseline = await dialler('baseline', '@bob-baseline.aura', 'answerer')
for (let i = 1; i <= rounds; i++) {
  // alternate which goes first, so that neither always dials right after a hang-up
  for (const d of i % 2 === 1 ? [alice, baseline] : [baseline, alice]) await oneRound(d, i)
  progress('connect', i, rounds)
}

await alice.node.stop()
await baseline.node.stop()
bob.kill('SIGTERM')
bobBaseline.kill('SIGTERM')
await relay.stop()
clearInterval(loadTimer)

const SLOW_MS = 500
const figures = (d) => ({
  resolve: summary(d.resolveMs),
  dialToFirstEchoedByte: summary(d.firstByteMs),
  total: summary(d.totalMs),
  firstTryFailureRate: d.firstTryFailures / rounds,
  failures: d.failures,
  closeTimeouts: d.closeTimeouts,
  retryReasons: d.retryReasons,
  slowDials: { overMs: SLOW_MS, count: d.firstByteMs.filter((ms) => ms > SLOW_MS).length, of: d.firstByteMs.length }
})
const result = writeResult('connect', {
  rounds,
  unit: 'ms',
  note: 'each round dials once with the DTLS roles AuraLink sets (the offerer is the DTLS client) and once, as the baseline, with the roles node-datachannel picks by itself (the answerer is the DTLS client), in alternating order; the machine may be shared: see load',
  ...figures(alice),
  baseline: figures(baseline),
  ratioP50: round(percentileRatio(alice, baseline, 'p50')),
  ratioP95: round(percentileRatio(alice, baseline, 'p95')),
  reservation: summary(reservationMs),
  load: { loadavgAtStart, loadavgAtEnd: loadavg().map((x) => round(x)), loadavg1During: summary(loadSamples) }
})
console.log(JSON.stringify(result, null, 2))

function percentileRatio (a, b, p) {
  return summary(a.firstByteMs)[p] / summary(b.firstByteMs)[p]
}
// node-datachannel keeps native threads alive after every connection closed: exit explicitly
process.exit(0)
