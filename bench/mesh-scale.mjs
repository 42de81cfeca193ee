// bench/mesh-scale: as large a relay network as this machine holds on loopback.
// N real relay-node processes (relay 1 starts the network; relays 2..N bootstrap from relay 1,
// and from relay 2 as well once it exists) and M mesh peers, each attached to ONE relay and
// registering one public AuraID there. Measured:
//   - resolve latency (cache off) for names registered at other relays (the relay's directory
//     asks the DHT) and, for comparison, at the peer's own relay (answered from its store);
//   - dials: `node.dial(name)` as the SDK does it, to peers on the same relay and on another
//     one, and WebRTC dials to peers on another relay through that peer's relay
//     (`<its relay>/p2p-circuit/webrtc/p2p/<peer>`), which is what a dial across relays takes;
//   - memory per relay (RSS before peers attach and after) and per reservation;
//   - relay CPU per relayed MiB, pushed through a limited circuit (`/p2p-circuit/p2p/<peer>`)
//     on the last relay, started with a raised --relay-data-limit;
//   - setup time, names registered, DHT routing table sizes, DHT publish outcomes.
// Peers live in a few child processes (peer hosts), not worker_threads: each host has its own
// event loop and V8 heap, its RSS and CPU can be read from /proc, a crash in one (native
// node-datachannel code) does not take the bench down, and node-datachannel is not known to
// be safe to load in several worker threads of one process. The cost is a ~50 MB base per host.
// Peers check their relay every --peer-check-ms (10 s here, the mesh's default is 2 s): 200 peers
// share 2 cores here, where real ones each have a device; at 2 s their pings alone overlapped on
// a loaded machine (TooManyOutboundProtocolStreamsError on /ipfs/ping) and starved set-up.
// Run: scripts/netns.sh node bench/mesh-scale.mjs [--relays 10 --peers 200] [--quick]
//      [--hosts 4 --concurrency 2 --resolves 200 --dials 30 --mb 32 --peer-check-ms 10000 --max-minutes 12 --note text]
import { fork } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { fetchMetrics, metricValue, procCpuSeconds, procRssBytes, requireNetns, round, startRelay, summary, writeResult } from './lib.mjs'

const ECHO = '/bench/echo/1.0.0'
const SINK = '/bench/sink/1.0.0'
const ROLE_ENV = 'AURALINK_MESH_SCALE_ROLE'
const MiB = 2 ** 20
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
/**
 * Peer i's AuraID, its index spelled in letters (0-9 as a-k without i): the directory refuses
 * look-alikes, and digits map to letters in its skeleton (@mscale-100 would look like @mscale-180).
 */
const peerName = (i) => `@mscale-${String(i).replace(/\d/g, (d) => 'abcdefghjk'[Number(d)])}.aura`

// ---------------------------------------------------------------------------------------------
// Peer host: a child process holding a share of the mesh peers, driven over IPC.
// Every request is { id, op, ...args } and gets { id, ok, value | error }.

async function peerHost () {
  const { createMeshNode } = await import('@auralink/mesh')
  const { multiaddr } = await import('@multiformats/multiaddr')
  /** index -> mesh node */
  const nodes = new Map()
  // the bench went away (crashed or was killed): nobody to answer, stop at once
  process.on('disconnect', () => process.exit(0))

  const echo = async (stream) => {
    for await (const chunk of stream) {
      if (!stream.send(chunk)) await stream.onDrain()
    }
    await stream.close()
  }
  const sink = async (stream) => {
    let n = 0
    for await (const chunk of stream) n += chunk.byteLength
    const out = new Uint8Array(8)
    new DataView(out.buffer).setBigUint64(0, BigInt(n))
    stream.send(out)
    await stream.close()
  }
  const bounded = (promise, ms, what) => {
    let timer
    return Promise.race([promise, new Promise((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no end within ${ms} ms`)), ms) })])
      .finally(() => clearTimeout(timer))
  }
  const node = (index) => {
    const n = nodes.get(index)
    if (n === undefined) throw new Error(`no peer ${index} in this host`)
    return n
  }
  /** One byte out on a new stream, the same byte back; bounded. */
  const echoOnce = async (conn, ms) => {
    const stream = await conn.newStream(ECHO, { signal: AbortSignal.timeout(ms) })
    try {
      await bounded((async () => {
        stream.send(new Uint8Array([7]))
        for await (const chunk of stream) if (chunk.byteLength > 0) return
        throw new Error('echo stream ended with no byte')
      })(), ms, 'echo')
    } finally {
      stream.abort(new Error('done'))
    }
  }
  const closeConn = async (connection) => {
    await connection.close({ signal: AbortSignal.timeout(5000) }).catch((err) => connection.abort(err))
  }

  const handlers = {
    async start ({ peers, concurrency, timeoutMs, relayCheckIntervalMs }) {
      const results = []
      let next = 0
      const one = async ({ index, relayAddr, name }) => {
        const t0 = performance.now()
        const r = { index, name }
        let n
        try {
          n = await createMeshNode({ relays: [relayAddr], relayCheckIntervalMs })
          await n.start()
          await n.waitForReservation({ signal: AbortSignal.timeout(timeoutMs) })
          r.reservedMs = performance.now() - t0
          await n.handle(ECHO, echo)
          await n.handle(SINK, sink, { runOnLimitedConnection: true })
          nodes.set(index, n)
          r.peerId = n.peerId.toString()
          const t1 = performance.now()
          // one retry: on a loaded machine a directory request may time out (10 s) once
          const record = await n.register(name, { signal: AbortSignal.timeout(timeoutMs) })
            .catch(async () => { await sleep(1000); return n.register(name, { signal: AbortSignal.timeout(timeoutMs) }) })
          r.registerMs = performance.now() - t1
          r.recordBytes = record.bytes.byteLength
          r.registered = true
        } catch (err) {
          r.error = `${err.name}: ${err.message}`.slice(0, 200)
          if (n !== undefined && !nodes.has(index)) await bounded(n.stop(), 5000, 'stop').catch(() => {})
        }
        results.push(r)
      }
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (next < peers.length) await one(peers[next++])
      }))
      return results
    },

    async resolve ({ index, name, peerId, timeoutMs }) {
      const t0 = performance.now()
      try {
        const record = await node(index).resolve(name, { cache: false, signal: AbortSignal.timeout(timeoutMs) })
        return { ok: record.peerId.toString() === peerId, ms: performance.now() - t0, error: record.peerId.toString() === peerId ? undefined : 'resolved to another key' }
      } catch (err) {
        return { ok: false, ms: performance.now() - t0, error: err.name }
      }
    },

    /** `node.dial(name)` as the SDK does it, then one echoed byte. */
    async meshDial ({ index, name, timeoutMs }) {
      const t0 = performance.now()
      try {
        const conn = await node(index).dial(name, { signal: AbortSignal.timeout(timeoutMs) })
        await echoOnce(conn, 10_000)
        const ms = performance.now() - t0
        await closeConn(conn.connection)
        return { ok: true, ms, attempts: conn.attempts, path: conn.path }
      } catch (err) {
        return { ok: false, ms: performance.now() - t0, error: `${err.name}: ${err.message}`.replace(/12D3KooW\w+/g, '<peer>').replace(/@mscale-[a-k]+\.aura/g, '<name>').slice(0, 160) }
      }
    },

    /** A WebRTC dial through the target's relay, retried as the mesh does (backoff 250 ms, doubled), then one echoed byte. */
    async circuitDial ({ index, relayAddr, peerId, attempts, attemptMs }) {
      const libp2p = node(index).libp2p
      const addr = multiaddr(`${relayAddr}/p2p-circuit/webrtc/p2p/${peerId}`)
      const t0 = performance.now()
      const errors = []
      for (let attempt = 1; attempt <= attempts; attempt++) {
        try {
          const connection = await libp2p.dial(addr, { signal: AbortSignal.timeout(attemptMs), force: true })
          if (!connection.direct || connection.limits != null) {
            await closeConn(connection)
            throw new Error('not a direct connection')
          }
          await echoOnce(connection, 10_000)
          const ms = performance.now() - t0
          await closeConn(connection)
          return { ok: true, ms, attempts: attempt, errors }
        } catch (err) {
          errors.push(`${err.name}: ${err.message}`.replace(/12D3KooW\w+/g, '<peer>').replace(/@mscale-[a-k]+\.aura/g, '<name>').slice(0, 160))
          if (attempt < attempts) await sleep(250 * 2 ** (attempt - 1))
        }
      }
      return { ok: false, ms: performance.now() - t0, attempts, errors }
    },

    /** `bytes` through a limited circuit `<relay>/p2p-circuit/p2p/<peer>` to the peer's sink. */
    async relayedSend ({ index, relayAddr, peerId, bytes, chunkBytes, timeoutMs }) {
      const libp2p = node(index).libp2p
      const connection = await libp2p.dial(multiaddr(`${relayAddr}/p2p-circuit/p2p/${peerId}`), { signal: AbortSignal.timeout(15_000), force: true })
      try {
        const stream = await connection.newStream(SINK, { runOnLimitedConnection: true, signal: AbortSignal.timeout(15_000) })
        const chunk = new Uint8Array(chunkBytes).map((_, i) => i & 0xff)
        const t0 = performance.now()
        const received = await bounded((async () => {
          for (let sent = 0; sent < bytes; sent += chunkBytes) {
            if (!stream.send(chunk)) await stream.onDrain()
          }
          await stream.close()
          let reply = new Uint8Array(0)
          for await (const c of stream) reply = new Uint8Array([...reply, ...c.subarray()])
          return reply.byteLength === 8 ? Number(new DataView(reply.buffer).getBigUint64(0)) : -1
        })(), timeoutMs, 'relayed transfer')
        return { seconds: (performance.now() - t0) / 1000, received, limited: connection.limits != null, remoteAddr: connection.remoteAddr.toString().replace(/12D3KooW\w+/g, '<peer>').replace(/@mscale-[a-k]+\.aura/g, '<name>') }
      } finally {
        await closeConn(connection)
      }
    },

    async stats () {
      return { peers: nodes.size, rssBytes: procRssBytes(process.pid), heapUsedBytes: process.memoryUsage().heapUsed, cpuSeconds: procCpuSeconds(process.pid) }
    },

    async stop () {
      await Promise.allSettled([...nodes.values()].map(async (n) => bounded(n.stop(), 10_000, 'stop')))
      nodes.clear()
      // node-datachannel keeps native threads alive after every connection closed: exit explicitly
      setTimeout(() => process.exit(0), 50)
    }
  }

  process.on('message', async ({ id, op, ...args }) => {
    try {
      const value = await handlers[op](args)
      process.send({ id, ok: true, value })
    } catch (err) {
      process.send({ id, ok: false, error: `${err.name}: ${err.message}` })
    }
  })
  process.send({ ready: true })
}

// ---------------------------------------------------------------------------------------------
// The bench: relays, peer hosts, the measurements, the result.

function startHost (i) {
  const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, [ROLE_ENV]: 'peers' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const pending = new Map()
  let nextId = 0
  let readyResolve
  let readyReject
  const ready = new Promise((resolve, reject) => { readyResolve = resolve; readyReject = reject })
  const readyTimer = setTimeout(() => readyReject(new Error(`peer host ${i} not ready in 30 s`)), 30_000)
  child.on('message', (msg) => {
    if (msg.ready === true) { clearTimeout(readyTimer); readyResolve(); return }
    const p = pending.get(msg.id)
    if (p === undefined) return
    pending.delete(msg.id)
    clearTimeout(p.timer)
    if (msg.ok) p.resolve(msg.value)
    else p.reject(new Error(msg.error))
  })
  child.on('exit', (code, signal) => {
    clearTimeout(readyTimer)
    const err = new Error(`peer host ${i} exited (${code ?? signal})`)
    readyReject(err)
    for (const p of pending.values()) { clearTimeout(p.timer); p.reject(err) }
    pending.clear()
  })
  return {
    index: i,
    child,
    ready,
    request (op, args, timeoutMs) {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.reject(new Error(`peer host ${i} is gone`))
      const id = nextId++
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { pending.delete(id); reject(new Error(`peer host ${i}: ${op} got no answer in ${timeoutMs} ms`)) }, timeoutMs)
        pending.set(id, { resolve, reject, timer })
        child.send({ id, op, ...args })
      })
    },
    async stop () {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      await this.request('stop', {}, 15_000).catch(() => {})
      await Promise.race([exited, sleep(5000)])
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    }
  }
}

/** A small seeded PRNG (mulberry32): the same samples from run to run. */
function prng (seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Runs `fn` over `items`, at most `n` at once. */
async function pool (items, n, fn) {
  const out = new Array(items.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i], i)
    }
  }))
  return out
}

/** Polls `check` (true when done) every `everyMs` until `ms` passed; resolves with whether it got there. */
async function until (check, ms, everyMs = 500) {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check().catch(() => false)) return true
    await sleep(everyMs)
  }
  return false
}

/** The training job another engineer runs on this machine, if it is alive. */
function trainingJob () {
  const file = new URL('../.auralink/aic-image-codec-train.pid', import.meta.url)
  if (!existsSync(file)) return undefined
  const pid = Number(readFileSync(file, 'utf8').trim())
  return Number.isInteger(pid) && existsSync(`/proc/${pid}`) ? pid : undefined
}

const MiBr = (bytes) => round(bytes / MiB, 1)

async function main () {
  requireNetns('mesh-scale')
  const { values } = parseArgs({
    options: {
      relays: { type: 'string' },
      peers: { type: 'string' },
      quick: { type: 'boolean', default: false },
      hosts: { type: 'string' },
      resolves: { type: 'string', default: '200' },
      dials: { type: 'string', default: '30' },
      mb: { type: 'string' },
      'max-minutes': { type: 'string', default: '12' },
      'peer-check-ms': { type: 'string', default: '10000' },
      concurrency: { type: 'string', default: '2' },
      note: { type: 'string' }
    }
  })
  const quick = values.quick
  const nRelays = Number(values.relays ?? (quick ? 3 : 10))
  const nPeers = Number(values.peers ?? (quick ? 20 : 200))
  const nHosts = Number(values.hosts ?? Math.min(4, Math.max(1, Math.ceil(nPeers / 10))))
  const nResolves = Number(values.resolves)
  const nDials = Number(values.dials)
  const relayedBytes = Number(values.mb ?? (quick ? 8 : 32)) * MiB
  for (const [k, v, min] of [['relays', nRelays, 2], ['peers', nPeers, 4], ['hosts', nHosts, 1], ['resolves', nResolves, 1], ['dials', nDials, 1]]) {
    if (!Number.isInteger(v) || v < min) { console.error(`mesh-scale: --${k} must be a whole number >= ${min}, got ${v}`); process.exit(2) }
  }

  const started = Date.now()
  const training = trainingJob()
  const result = {
    quick,
    config: { relays: nRelays, peers: nPeers, peerHosts: nHosts, peerStartConcurrencyPerHost: Number(values.concurrency), peerRelayCheckIntervalMs: Number(values['peer-check-ms']), resolveSamples: nResolves, dialSamples: nDials, relayedMiB: relayedBytes / MiB },
    load: { loadavgAtStart: loadavg().map((x) => round(x)), trainingJobRunning: training !== undefined },
    note: [values.note, training !== undefined ? `the AIC training job (pid ${training}) was running on this 2-core machine during the run, taking about one core` : undefined].filter(Boolean).join('; ') || undefined,
    phases: {}
  }
  const relays = []
  const hosts = []
  let cleaned = false
  const cleanup = async () => {
    if (cleaned) return
    cleaned = true
    await Promise.allSettled(hosts.map(async (h) => h.stop()))
    await Promise.allSettled(relays.map(async (r) => r.stop()))
    for (const r of relays) rmSync(r.dataDir, { recursive: true, force: true })
  }
  // the machine is shared: the 1-minute load average every 5 s says how much of it we had
  const loadSamples = []
  const loadTimer = setInterval(() => loadSamples.push(loadavg()[0]), 5000)
  loadTimer.unref()
  const finish = (extra) => {
    clearInterval(loadTimer)
    result.wallSeconds = round((Date.now() - started) / 1000, 1)
    result.load.loadavgAtEnd = loadavg().map((x) => round(x))
    if (loadSamples.length > 0) result.load.loadavg1During = summary(loadSamples)
    const cores = availableParallelism()
    if (result.load.loadavg1During?.p50 > cores) {
      result.note = [result.note, `1-minute load average p50 ${result.load.loadavg1During.p50} on ${cores} cores: latencies and CPU figures include that contention`].filter(Boolean).join('; ')
    }
    return writeResult('mesh-scale', { ...result, ...extra })
  }
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => {
      console.error(`mesh-scale: ${sig}, stopping everything`)
      void cleanup().finally(() => process.exit(130))
    })
  }
  const watchdog = setTimeout(() => {
    console.error(`mesh-scale: over --max-minutes ${values['max-minutes']}, stopping (partial result written)`)
    finish({ incomplete: `stopped after ${values['max-minutes']} minutes` })
    void cleanup().finally(() => process.exit(1))
  }, Number(values['max-minutes']) * 60_000)
  watchdog.unref()

  let code = 0
  try {
    await run({ relays, hosts, result, nRelays, nPeers, nHosts, nResolves, nDials, relayedBytes, peerCheckMs: Number(values['peer-check-ms']), concurrency: Number(values.concurrency) })
    const doc = finish()
    printTable(doc)
  } catch (err) {
    console.error(`mesh-scale failed: ${err.stack}`)
    finish({ incomplete: `failed: ${err.message}` })
    code = 1
  } finally {
    clearTimeout(watchdog)
    await cleanup()
  }
  process.exit(code)
}

async function relayState (relay) {
  const text = await fetchMetrics(relay.httpUrl)
  const m = (name) => metricValue(text, name)
  const publish = ['ok', 'local', 'error'].map((o) => m(`auralink_dht_operations_total{op="publish",outcome="${o}"}`) || 0)
  return {
    rssBytes: procRssBytes(relay.child.pid),
    cpuSeconds: procCpuSeconds(relay.child.pid),
    heapUsedBytes: m('nodejs_heap_size_used_bytes'),
    reservations: m('auralink_relay_reservations'),
    connections: m('auralink_relay_connections'),
    names: m('auralink_directory_names'),
    dhtPeers: m('auralink_dht_peers'),
    publishes: { ok: publish[0], local: publish[1], error: publish[2] },
    lookups: Object.fromEntries(['ok', 'not_found', 'invalid', 'error'].map((o) => [o, m(`auralink_dht_operations_total{op="lookup",outcome="${o}"}`) || 0])),
    adverts: /^auralink_relay_advert/m.test(text) || /^auralink_adverts?_/m.test(text)
  }
}

async function run ({ relays, hosts, result, nRelays, nPeers, nHosts, nResolves, nDials, relayedBytes, peerCheckMs, concurrency }) {
  const t0 = performance.now()
  const perRelayPeers = Math.ceil(nPeers / nRelays)
  const common = ['--max-reservations', String(Math.max(128, 2 * perRelayPeers)), '--max-circuits-per-peer', '1000']
  // the last relay carries the relayed-MiB test: raise its per-circuit data and time limits
  const cpuRelayArgs = ['--relay-data-limit', String(4 * relayedBytes), '--relay-duration-limit-ms', '600000']

  // 1. relays: the first alone, the rest bootstrapping from it (and from the second), 3 at a time
  process.stderr.write(`mesh-scale: starting ${nRelays} relays\n`)
  const relayArgs = (i) => [...common, ...(i >= 1 ? ['--bootstrap', relays[0].addr] : []), ...(i >= 2 ? ['--bootstrap', relays[1].addr] : []), ...(i === nRelays - 1 ? cpuRelayArgs : [])]
  relays.push(await startRelay({ args: relayArgs(0) }))
  relays.push(await startRelay({ args: relayArgs(1) }))
  const rest = Array.from({ length: nRelays - 2 }, (_, k) => k + 2)
  const started = await pool(rest, 3, async (i) => {
    const r = await startRelay({ args: relayArgs(i) })
    relays.push(r)
    return r
  })
  // in index order: relay i is started[i - 2] (relays[] above is in start order, for cleanup)
  relays.splice(2, relays.length - 2, ...started)
  await until(async () => relays.every((r) => r.httpUrl !== undefined), 10_000, 100)
  result.phases.relaysStartedSeconds = round((performance.now() - t0) / 1000, 1)

  // 2. the DHT: every relay sees the N-1 others (bounded)
  const dhtFull = await until(async () => {
    const n = await Promise.all(relays.map(async (r) => metricValue(await fetchMetrics(r.httpUrl), 'auralink_dht_peers')))
    return n.every((x) => x >= nRelays - 1)
  }, 60_000, 1000)
  result.phases.dhtSettledSeconds = round((performance.now() - t0) / 1000, 1)
  await sleep(3000)
  const idleWindowS = 5
  const beforeA = await Promise.all(relays.map(relayState))
  await sleep(idleWindowS * 1000)
  const before = await Promise.all(relays.map(relayState))
  result.relaysBeforePeers = {
    dhtFull,
    dhtPeers: before.map((s) => s.dhtPeers),
    rssMiB: before.map((s) => MiBr(s.rssBytes)),
    heapUsedMiB: before.map((s) => MiBr(s.heapUsedBytes)),
    idleCpuPercent: before.map((s, i) => round((s.cpuSeconds - beforeA[i].cpuSeconds) / idleWindowS * 100, 1)),
    advertsMetrics: before[0].adverts
  }
  process.stderr.write(`mesh-scale: ${nRelays} relays up in ${result.phases.dhtSettledSeconds} s, DHT peers ${result.relaysBeforePeers.dhtPeers.join(',')}\n`)

  // 3. peers: peer i on relay i % N, in host i % H
  const tPeers = performance.now()
  for (let h = 0; h < nHosts; h++) hosts.push(startHost(h))
  await Promise.all(hosts.map(async (h) => h.ready))
  const peers = Array.from({ length: nPeers }, (_, i) => ({ index: i, relay: i % nRelays, host: i % nHosts, name: peerName(i) }))
  process.stderr.write(`mesh-scale: starting ${nPeers} peers in ${nHosts} hosts\n`)
  const startResults = (await Promise.all(hosts.map(async (h) => h.request('start', {
    peers: peers.filter((p) => p.host === h.index).map((p) => ({ index: p.index, relayAddr: relays[p.relay].addr, name: p.name })),
    concurrency,
    timeoutMs: 60_000,
    relayCheckIntervalMs: peerCheckMs
  }, 480_000)))).flat()
  for (const r of startResults) Object.assign(peers[r.index], r)
  const registered = peers.filter((p) => p.registered)
  const errors = {}
  for (const p of peers) if (p.error) errors[p.error.replace(/12D3KooW\w+/g, '<peer>').replace(/@mscale-[a-k]+\.aura/g, '<name>').slice(0, 120)] = (errors[p.error.replace(/12D3KooW\w+/g, '<peer>').replace(/@mscale-[a-k]+\.aura/g, '<name>').slice(0, 120)] ?? 0) + 1
  result.phases.peersSetUpSeconds = round((performance.now() - tPeers) / 1000, 1)
  result.peers = {
    attempted: nPeers,
    reserved: peers.filter((p) => p.reservedMs !== undefined).length,
    registered: registered.length,
    errors,
    reservationMs: summary(peers.filter((p) => p.reservedMs !== undefined).map((p) => p.reservedMs)),
    registerMs: summary(registered.map((p) => p.registerMs)),
    recordBytes: summary(registered.map((p) => p.recordBytes))
  }
  process.stderr.write(`mesh-scale: ${registered.length}/${nPeers} peers registered in ${result.phases.peersSetUpSeconds} s\n`)
  if (registered.length < 4) throw new Error(`only ${registered.length} peers registered: ${JSON.stringify(errors)}`)

  // 4. wait until each relay has published (or given up on) every name it took, then memory "after"
  const perRelay = relays.map((_, i) => registered.filter((p) => p.relay === i).length)
  const published = await until(async () => {
    const s = await Promise.all(relays.map(relayState))
    return s.every((x, i) => x.publishes.ok + x.publishes.local + x.publishes.error >= perRelay[i])
  }, 60_000, 1000)
  await sleep(3000)
  const after = await Promise.all(relays.map(relayState))
  const hostStats = await Promise.all(hosts.map(async (h) => h.request('stats', {}, 10_000)))
  const perReservation = after.map((s, i) => s.reservations > 0 ? (s.rssBytes - before[i].rssBytes) / s.reservations : NaN).filter(Number.isFinite)
  const perReservationHeap = after.map((s, i) => s.reservations > 0 ? (s.heapUsedBytes - before[i].heapUsedBytes) / s.reservations : NaN).filter(Number.isFinite)
  result.relaysAfterPeers = {
    allPublished: published,
    reservations: after.map((s) => s.reservations),
    connections: after.map((s) => s.connections),
    names: after.map((s) => s.names),
    dhtPeers: after.map((s) => s.dhtPeers),
    rssMiB: after.map((s) => MiBr(s.rssBytes)),
    heapUsedMiB: after.map((s) => MiBr(s.heapUsedBytes)),
    publishes: after.reduce((a, s) => ({ ok: a.ok + s.publishes.ok, local: a.local + s.publishes.local, error: a.error + s.publishes.error }), { ok: 0, local: 0, error: 0 })
  }
  result.memory = {
    relayRssBeforeMiB: summary(before.map((s) => s.rssBytes / MiB)),
    relayRssAfterMiB: summary(after.map((s) => s.rssBytes / MiB)),
    perReservationKiB: summary(perReservation.map((b) => b / 1024)),
    perReservationHeapKiB: summary(perReservationHeap.map((b) => b / 1024)),
    perReservationNote: 'RSS (and V8 heap used) growth of each relay from before any peer attached to after its peers reserved, registered and were published, divided by the reservations it holds: each reservation comes with one peer connection (WebSocket + Noise + yamux), one directory name and its DHT work',
    peerHostRssMiB: hostStats.map((s) => MiBr(s.rssBytes)),
    perPeerInHostMiB: round(hostStats.reduce((a, s) => a + s.rssBytes, 0) / MiB / Math.max(1, hostStats.reduce((a, s) => a + s.peers, 0)), 2)
  }
  process.stderr.write(`mesh-scale: relay RSS p50 ${result.memory.relayRssBeforeMiB.p50} -> ${result.memory.relayRssAfterMiB.p50} MiB, ${result.memory.perReservationKiB.p50} KiB per reservation\n`)

  // peers kept out of the dial samples: the relayed-MiB pair on the last relay
  const onLast = registered.filter((p) => p.relay === nRelays - 1)
  const cpuPair = onLast.length >= 2 ? [onLast[0], onLast[1]] : undefined
  const sampleable = registered.filter((p) => !cpuPair?.includes(p))
  const rand = prng(4)
  const pick = (list) => list[Math.floor(rand() * list.length)]
  const hostOf = (p) => hosts[p.host]

  // 5. resolves, one at a time (latency, not throughput), cache off
  const resolveRound = async (n, sameRelay) => {
    const ms = []
    const fails = {}
    for (let k = 0; k < n; k++) {
      const from = sampleable[k % sampleable.length]
      const targets = sampleable.filter((p) => p !== from && (p.relay === from.relay) === sameRelay)
      if (targets.length === 0) continue
      const to = pick(targets)
      const r = await hostOf(from).request('resolve', { index: from.index, name: to.name, peerId: to.peerId, timeoutMs: 15_000 }, 20_000)
        .catch((err) => ({ ok: false, error: err.message }))
      if (r.ok) ms.push(r.ms)
      else fails[r.error] = (fails[r.error] ?? 0) + 1
    }
    return { ...summary(ms), successRate: round(ms.length / Math.max(1, ms.length + Object.values(fails).reduce((a, b) => a + b, 0)), 4), failures: fails }
  }
  const tRes = performance.now()
  result.resolve = { unit: 'ms', otherRelay: await resolveRound(nResolves, false) }
  result.resolve.sameRelay = await resolveRound(Math.max(1, Math.round(nResolves / 2)), true)
  result.phases.resolveSeconds = round((performance.now() - tRes) / 1000, 1)
  process.stderr.write(`mesh-scale: resolve other relay p50 ${result.resolve.otherRelay.p50} ms p95 ${result.resolve.otherRelay.p95}, same relay p50 ${result.resolve.sameRelay.p50} ms\n`)

  // 6. dials. Distinct pairs, never the relayed-MiB pair.
  const tDial = performance.now()
  const used = new Set()
  const pairs = (n, sameRelay) => {
    const out = []
    for (let tries = 0; out.length < n && tries < n * 50; tries++) {
      const a = pick(sampleable)
      const b = pick(sampleable)
      const key = [a.index, b.index].sort((x, y) => x - y).join('-')
      if (a === b || used.has(key) || (a.relay === b.relay) !== sameRelay) continue
      used.add(key)
      out.push([a, b])
    }
    return out
  }
  const meshDials = async (list) => {
    const out = []
    for (const [a, b] of list) out.push(await hostOf(a).request('meshDial', { index: a.index, name: b.name, timeoutMs: 60_000 }, 70_000).catch((err) => ({ ok: false, error: err.message })))
    return out
  }
  const tally = (list) => {
    const ok = list.filter((r) => r.ok)
    const errs = {}
    for (const r of list) for (const e of r.errors ?? (r.ok ? [] : [r.error])) errs[e] = (errs[e] ?? 0) + 1
    return { n: list.length, ok: ok.length, successRate: round(ok.length / Math.max(1, list.length), 4), firstTry: ok.filter((r) => r.attempts === 1).length, ms: ok.length > 0 ? summary(ok.map((r) => r.ms)) : undefined, errors: errs }
  }
  const sameRelayMesh = await meshDials(pairs(Math.min(10, nDials), true))
  const otherRelayMesh = await meshDials(pairs(5, false))
  // across relays through the target's relay, bounded as a phase: at most 4 minutes of dialling
  const circuit = []
  const phaseEnd = Date.now() + 240_000
  for (const [a, b] of pairs(nDials, false)) {
    if (Date.now() > phaseEnd) break
    circuit.push(await hostOf(a).request('circuitDial', { index: a.index, relayAddr: relays[b.relay].addr, peerId: b.peerId, attempts: 4, attemptMs: 10_000 }, 60_000)
      .catch((err) => ({ ok: false, error: err.message })))
  }
  result.dial = {
    unit: 'ms, from the dial call to the first echoed byte',
    sameRelayMeshDial: tally(sameRelayMesh),
    otherRelayMeshDial: { ...tally(otherRelayMesh), note: 'node.dial(name) only tries the relays this peer is attached to, and a record names no relay: a peer on another relay is reported offline (PeerOfflineError)' },
    otherRelayViaTargetsRelay: { ...tally(circuit), planned: nDials, note: 'libp2p.dial(<target relay>/p2p-circuit/webrtc/p2p/<peer>) from a peer attached to another relay, up to 4 attempts 10 s each, 250 ms backoff doubled (as the mesh retries)' }
  }
  result.phases.dialSeconds = round((performance.now() - tDial) / 1000, 1)
  process.stderr.write(`mesh-scale: dials across relays ${result.dial.otherRelayViaTargetsRelay.ok}/${result.dial.otherRelayViaTargetsRelay.n}, same relay mesh ${result.dial.sameRelayMeshDial.ok}/${result.dial.sameRelayMeshDial.n}\n`)

  // 7. relay CPU per relayed MiB on the last relay
  if (cpuPair !== undefined) {
    const relay = relays[nRelays - 1]
    const pid = relay.child.pid
    const [src, dst] = cpuPair
    const windowS = 5
    const c0 = procCpuSeconds(pid)
    await sleep(windowS * 1000)
    const c1 = procCpuSeconds(pid)
    const idleRate = (c1 - c0) / windowS
    const r = await hostOf(src).request('relayedSend', { index: src.index, relayAddr: relay.addr, peerId: dst.peerId, bytes: relayedBytes, chunkBytes: 65536, timeoutMs: 240_000 }, 270_000)
      .catch((err) => ({ error: err.message }))
    const c2 = procCpuSeconds(pid)
    if (r.error === undefined && r.received === relayedBytes) {
      const gross = c2 - c1
      const wall = r.seconds
      const net = Math.max(0, gross - idleRate * wall)
      result.relayedCpu = {
        mib: relayedBytes / MiB,
        limited: r.limited,
        seconds: round(wall, 2),
        mibPerSecond: round(relayedBytes / MiB / wall, 2),
        relayCpuSeconds: round(gross, 2),
        relayIdleCpuPerSecond: round(idleRate, 4),
        cpuSecondsPerMiB: round(net / (relayedBytes / MiB), 4),
        cpuSecondsPerMiBGross: round(gross / (relayedBytes / MiB), 4),
        note: 'relay process utime+stime over the transfer, less its idle rate measured over 5 s just before; each MiB enters the relay once from the source and leaves once to the destination (Noise + yamux + WebSocket on both hops)'
      }
    } else {
      result.relayedCpu = { error: r.error ?? `sink received ${r.received} of ${relayedBytes} bytes`, limited: r.limited }
    }
    process.stderr.write(`mesh-scale: relayed ${relayedBytes / MiB} MiB: ${JSON.stringify(result.relayedCpu)}\n`)
  } else {
    result.relayedCpu = { error: 'fewer than two registered peers on the last relay' }
  }
  result.phases.totalSeconds = round((performance.now() - t0) / 1000, 1)
}

function printTable (doc) {
  const rows = []
  const s = (x) => (x === undefined ? 'n/a' : `${x.p50} / ${x.p95} / ${x.max} (n ${x.n})`)
  const rate = (d) => `${d.ok}/${d.n} (${round(d.successRate * 100, 1)}%)`
  rows.push(['relays, peers (hosts)', `${doc.config.relays}, ${doc.config.peers} (${doc.config.peerHosts})`])
  rows.push(['peers reserved / registered', `${doc.peers.reserved} / ${doc.peers.registered}`])
  rows.push(['setup s: relays, DHT settled, peers', `${doc.phases.relaysStartedSeconds}, ${doc.phases.dhtSettledSeconds}, ${doc.phases.peersSetUpSeconds}`])
  rows.push(['DHT peers per relay (after)', doc.relaysAfterPeers.dhtPeers.join(' ')])
  rows.push(['resolve, other relay ms p50/p95/max', `${s(doc.resolve.otherRelay)}, ok ${round(doc.resolve.otherRelay.successRate * 100, 1)}%`])
  rows.push(['resolve, same relay ms p50/p95/max', `${s(doc.resolve.sameRelay)}, ok ${round(doc.resolve.sameRelay.successRate * 100, 1)}%`])
  rows.push(['dial across relays (via its relay)', `${rate(doc.dial.otherRelayViaTargetsRelay)}, ms ${s(doc.dial.otherRelayViaTargetsRelay.ms)}`])
  rows.push(['node.dial(name), same relay', `${rate(doc.dial.sameRelayMeshDial)}, ms ${s(doc.dial.sameRelayMeshDial.ms)}`])
  rows.push(['node.dial(name), other relay', rate(doc.dial.otherRelayMeshDial)])
  rows.push(['relay RSS MiB before -> after (p50)', `${doc.memory.relayRssBeforeMiB.p50} -> ${doc.memory.relayRssAfterMiB.p50}`])
  rows.push(['KiB per reservation: RSS, heap (p50)', `${doc.memory.perReservationKiB.p50}, ${doc.memory.perReservationHeapKiB.p50}`])
  rows.push(['relay CPU s per relayed MiB', doc.relayedCpu.cpuSecondsPerMiB ?? doc.relayedCpu.error])
  const w = Math.max(...rows.map((r) => r[0].length))
  console.log(`\nbench/mesh-scale${doc.quick ? ' --quick' : ''}${doc.note ? ` (note: ${doc.note})` : ''}`)
  for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`)
}

// last, so that every const above is initialised before either role runs
if (process.env[ROLE_ENV] === 'peers') await peerHost()
else await main()
