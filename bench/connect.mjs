// bench/connect: how long it takes to reach @bob.aura.
// 50 rounds of: resolve @bob.aura at the relay's directory (no cache), dial it (WebRTC through
// the relay, direct), open a stream and get one echoed byte back; then hang up.
// Also: relay reservation time for fresh nodes. Real relay-node process, peer in its own process.
// Run: scripts/netns.sh node bench/connect.mjs [--rounds 50]
import { parseArgs } from 'node:util'
import { createMeshNode } from '@auralink/mesh'
import { progress, requireNetns, startPeer, startRelay, summary, writeResult } from './lib.mjs'

requireNetns('connect')
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '50' }, reservations: { type: 'string', default: '10' } } })
const rounds = Number(values.rounds)
const relay = await startRelay()
const bob = await startPeer(relay.addr, '@bob.aura')

const reservationMs = []
for (let i = 0; i < Number(values.reservations); i++) {
  const n = await createMeshNode({ relays: [relay.addr], relayCheckIntervalMs: 100 })
  const t0 = performance.now()
  await n.start()
  await n.waitForReservation({ signal: AbortSignal.timeout(20_000) })
  reservationMs.push(performance.now() - t0)
  await n.stop()
}

const alice = await createMeshNode({ relays: [relay.addr] })
await alice.start()
await alice.waitForReservation({ signal: AbortSignal.timeout(20_000) })

const retryReasons = {}
alice.addEventListener('dial:retry', ({ detail }) => {
  const reason = detail.error.message.replace(/12D3KooW\w+/g, '<peer>').slice(0, 120)
  retryReasons[reason] = (retryReasons[reason] ?? 0) + 1
})

const resolveMs = []
const firstByteMs = []
const totalMs = []
let firstTryFailures = 0
let failures = 0
let closeTimeouts = 0
for (let i = 1; i <= rounds; i++) {
  const t0 = performance.now()
  try {
    await alice.resolve('@bob.aura', { cache: false })
    const t1 = performance.now()
    const conn = await alice.dial('@bob.aura')
    if (conn.path !== 'direct') throw new Error(`connection is ${conn.path}`)
    if (conn.attempts > 1) firstTryFailures++
    const stream = await conn.newStream('/bench/echo/1.0.0')
    stream.send(new Uint8Array([i & 0xff]))
    for await (const chunk of stream) { if (chunk.byteLength > 0) break }
    const t2 = performance.now()
    if (process.env.BENCH_VERBOSE) console.error(`round ${i}: resolve ${(t1 - t0).toFixed(1)} ms, dial+echo ${(t2 - t1).toFixed(1)} ms, attempts ${conn.attempts}`)
    resolveMs.push(t1 - t0)
    firstByteMs.push(t2 - t1)
    totalMs.push(t2 - t0)
    stream.abort(new Error('done'))
    await conn.close({ signal: AbortSignal.timeout(5000) }).catch((err) => {
      closeTimeouts++
      conn.connection.abort(err)
    })
  } catch (err) {
    failures++
    console.error(`round ${i} failed: ${err.message}`)
    if (process.env.BENCH_VERBOSE) console.error(err.stack)
  }
  progress('connect', i, rounds)
}

await alice.stop()
bob.kill('SIGTERM')
await relay.stop()

const result = writeResult('connect', {
  rounds,
  unit: 'ms',
  resolve: summary(resolveMs),
  dialToFirstEchoedByte: summary(firstByteMs),
  total: summary(totalMs),
  firstTryFailureRate: firstTryFailures / rounds,
  failures,
  closeTimeouts,
  retryReasons,
  slowDials: { overMs: 500, count: firstByteMs.filter((ms) => ms > 500).length },
  reservation: summary(reservationMs)
})
console.log(JSON.stringify(result, null, 2))
// node-datachannel keeps native threads alive after every connection closed: exit explicitly
process.exit(0)
