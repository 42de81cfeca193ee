// bench/create: how long `AuraLink.create({ relays })` takes against a local relay, from the call
// to the resolved client (its mesh node started and a reservation held at the relay).
// Real relay-node process on loopback; each client is stopped before the next is made; no key
// store (`keyStore: null`), so key storage does not count. One unmeasured warm-up run first.
// Run: scripts/netns.sh node bench/create.mjs [--runs 10] [--label after]
import { parseArgs } from 'node:util'
import { AuraLink } from '@auralink/sdk'
import { progress, requireNetns, startRelay, summary, writeResult } from './lib.mjs'

requireNetns('create')
const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' }, label: { type: 'string', default: 'create' } } })
const runs = Number(values.runs)
if (!Number.isInteger(runs) || runs < 1) throw new RangeError(`--runs must be a whole number >= 1, got ${values.runs}`)
// every run makes a new peer, and the relay keeps a stopped peer's reservation until it expires:
// lift the per-address cap on reservations held at once (8) as the other bench limits are, and
// the new-connection rate per address (10 a second): back-to-back runs from 127.0.0.1 pass it,
// and a refused connection is retried 2 s later, which would measure the relay's flood guard
// rather than create()
const relay = await startRelay({ args: ['--max-reservations-per-address', '1000', '--inbound-connection-rate', '1000'] })

const createMs = []
try {
  for (let i = 0; i <= runs; i++) {
    const t0 = performance.now()
    const client = await AuraLink.create({ relays: [relay.addr], iceServers: [], keyStore: null })
    const ms = performance.now() - t0
    await client.stop()
    if (i > 0) { createMs.push(ms); progress('create', i, runs) }
  }
} finally {
  await relay.stop()
}

const s = summary(createMs)
console.log(`AuraLink.create() to a reservation on a loopback relay: p50 ${s.p50} ms, p95 ${s.p95} ms (${s.n} runs, min ${s.min}, max ${s.max})`)
writeResult(values.label, { runs, createMs: s, all: createMs.map((x) => Math.round(x)) })
process.exit(0)
