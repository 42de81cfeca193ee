// A mesh node (the built dist) in a process of its own, for tests that run peers in other network
// namespaces (turn.integration.test.ts). Driven over stdin/stdout, one JSON object a line:
//   argv[2]  {"relays": [...], "iceServers": [...], "dial": {...}}  (MeshNodeInit fields)
//   out      {"event":"ready","peerId":"12D3...","probePort":N}   once it holds a reservation
//   in       {"id":1,"cmd":"dial","peer":"12D3...","allowRelayed":false,"allowTurn":true,"timeoutMs":60000}
//   out      {"id":1,"ok":true,"path":"turn","attempts":2,"fallbackReason":"...","echo":"...","candidates":{...},"ms":N}
//            or {"id":1,"ok":false,"name":"DialFailedError","message":"...","attempts":N,"ms":N}
//   in       {"id":2,"cmd":"probe","host":"10.214.2.2","port":N}  ->  {"id":2,"ok":true,"reachable":false}
//   in       {"cmd":"stop"} (or stdin closing): stops the node and exits
// Each dial is followed by one round trip on /test/echo/1.0.0 and the connection's close.
// Debug logs (DEBUG=auralink:*,libp2p:webrtc*) go to stderr, and libdatachannel's own log at the
// level AURALINK_RTC_LOG names (Verbose, Debug, Info, Warning, Error) when it is set.
import { createServer, connect } from 'node:net'
import { createInterface } from 'node:readline'
import { peerIdFromString } from '@libp2p/peer-id'
import { initLogger } from 'node-datachannel'
import { createMeshNode } from '../dist/index.js'

if (process.env.AURALINK_RTC_LOG) initLogger(process.env.AURALINK_RTC_LOG, (level, message) => { process.stderr.write(`${new Date().toISOString()} rtc ${level} ${message}\n`) })

const ECHO = '/test/echo/1.0.0'
const init = JSON.parse(process.argv[2] ?? '{}')
const send = (msg) => { process.stdout.write(`${JSON.stringify(msg)}\n`) }

const node = await createMeshNode({ relays: init.relays, iceServers: init.iceServers, dial: init.dial, relayCheckIntervalMs: 250 })
await node.handle(ECHO, async (stream) => {
  for await (const chunk of stream) {
    if (!stream.send(chunk)) await stream.onDrain()
  }
  await stream.close()
}, { runOnLimitedConnection: true })
await node.start()
await node.waitForReservation({ signal: AbortSignal.timeout(30_000) })

// a TCP listener on every address, for other namespaces' reachability probes
const probe = createServer((socket) => { socket.end() })
await new Promise((resolve) => probe.listen(0, '0.0.0.0', resolve))
send({ event: 'ready', peerId: node.peerId.toString(), probePort: probe.address().port })

/** The ICE candidate types of a WebRTC connection's selected pair (node-datachannel), read through libp2p internals; undefined for others. */
function candidateTypes (connection) {
  const pair = connection.maConn?.peerConnection?.selectedCandidatePair?.()
  return pair == null ? undefined : { local: pair.local.type, remote: pair.remote.type }
}

/** One round trip of `text` on the echo protocol, bounded at 10 s. */
async function echo (conn, text) {
  const signal = AbortSignal.timeout(10_000)
  const stream = await conn.newStream(ECHO, { signal })
  const bytes = new TextEncoder().encode(text)
  stream.send(bytes)
  const chunks = []
  let got = 0
  const it = stream[Symbol.asyncIterator]()
  while (got < bytes.byteLength) {
    const next = await Promise.race([it.next(), new Promise((_resolve, reject) => {
      signal.addEventListener('abort', () => { reject(new Error(`echo: ${got} of ${bytes.byteLength} bytes back within 10 s`)) }, { once: true })
    })])
    if (next.done === true) throw new Error('the echo stream ended early')
    const chunk = next.value.subarray()
    chunks.push(chunk)
    got += chunk.byteLength
  }
  await stream.close()
  return Buffer.concat(chunks).toString('utf8')
}

async function dial (msg) {
  const t0 = Date.now()
  try {
    const conn = await node.dial(peerIdFromString(msg.peer), {
      allowRelayed: msg.allowRelayed === true,
      ...(msg.allowTurn !== undefined ? { allowTurn: msg.allowTurn } : {}),
      signal: AbortSignal.timeout(msg.timeoutMs ?? 60_000)
    })
    const ms = Date.now() - t0
    const candidates = candidateTypes(conn.connection)
    const back = await echo(conn, `hello over ${conn.path}`)
    await conn.close()
    return { ok: true, path: conn.path, direct: conn.direct, attempts: conn.attempts, fallbackReason: conn.fallbackReason, echo: back, candidates, ms }
  } catch (err) {
    return { ok: false, name: err.name, message: err.message, attempts: err.attempts, ms: Date.now() - t0 }
  }
}

async function reachable (host, port) {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1500 })
    const done = (ok) => { socket.destroy(); resolve(ok) }
    socket.once('connect', () => { done(true) })
    socket.once('timeout', () => { done(false) })
    socket.once('error', () => { done(false) })
  })
}

let stopping = false
async function stop () {
  if (stopping) return
  stopping = true
  probe.close()
  await node.stop().catch((err) => { process.stderr.write(`stop: ${err.message}\n`) })
  process.exit(0)
}

createInterface({ input: process.stdin })
  .on('line', (line) => {
    const msg = JSON.parse(line)
    if (msg.cmd === 'stop') { void stop(); return }
    const work = msg.cmd === 'dial'
      ? dial(msg)
      : msg.cmd === 'probe'
        ? reachable(msg.host, msg.port).then((ok) => ({ ok: true, reachable: ok }))
        : Promise.resolve({ ok: false, name: 'TypeError', message: `unknown command ${JSON.stringify(msg.cmd)}` })
    void work.then((res) => { send({ id: msg.id, ...res }) })
  })
  .on('close', () => { void stop() })
