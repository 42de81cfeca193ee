// The mesh test page: one @auralink/mesh node per page, driven from Node through
// page.evaluate(() => window.meshPage.xxx(...)). Bytes cross the page boundary as base64.
import { createMeshNode } from '@auralink/mesh'
import type { MeshNode } from '@auralink/mesh'

export const ECHO_PROTOCOL = '/auralink-e2e/echo/1.0.0'

export interface EchoResult {
  path: string
  direct: boolean
  attempts: number
  /** True when the connection carries relay limits (a circuit), which a direct one never does. */
  limited: boolean
  remoteAddr: string
  remotePeer: string
  /** The bytes that came back, base64. */
  echoed: string
}

/** A rejected call, as a plain object (a page error would lose its name on the way to Node). */
export interface PageError { name: string, message: string, ms: number }

export interface MeshPage {
  /** Creates and starts a node with `relay` as its only relay and waits for a reservation; returns its PeerId. */
  start(relay: string): Promise<string>
  peerId(): string
  register(name: string): Promise<void>
  /** Answers every stream of ECHO_PROTOCOL with what it receives. */
  handleEcho(): Promise<void>
  /** Dials `name`, sends `data` (base64) on an echo stream, returns what came back and the connection's path. */
  echo(name: string, data: string): Promise<EchoResult>
  /** resolve(name), reporting a rejection (with its error name and how long it took) instead of throwing. */
  resolveError(name: string, timeoutMs: number): Promise<PageError | null>
  stop(): Promise<void>
}

export interface MeshPageWindow { meshPage: MeshPage }

let node: MeshNode | undefined

function current (): MeshNode {
  if (node === undefined) throw new Error('meshPage.start() was not called')
  return node
}

function toBase64 (bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(s)
}

function fromBase64 (b64: string): Uint8Array {
  const s = atob(b64)
  const out = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i)
  return out
}

const meshPage: MeshPage = {
  async start (relay) {
    if (node !== undefined) throw new Error('meshPage.start() was already called')
    node = await createMeshNode({ relays: [relay], iceServers: [], relayCheckIntervalMs: 250 })
    await node.start()
    await node.waitForReservation({ signal: AbortSignal.timeout(15_000) })
    return node.peerId.toString()
  },

  peerId () {
    return current().peerId.toString()
  },

  async register (name) {
    await current().register(name, { signal: AbortSignal.timeout(10_000) })
  },

  async handleEcho () {
    await current().handle(ECHO_PROTOCOL, async (stream) => {
      for await (const chunk of stream) {
        if (!stream.send(chunk)) await stream.onDrain({ signal: AbortSignal.timeout(10_000) })
      }
      await stream.close()
    })
  },

  async echo (name, data) {
    const conn = await current().dial(name, { signal: AbortSignal.timeout(60_000) })
    const bytes = fromBase64(data)
    const stream = await conn.newStream(ECHO_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
    const received = (async () => {
      const chunks: Uint8Array[] = []
      for await (const chunk of stream) chunks.push(chunk.subarray())
      const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0))
      let off = 0
      for (const c of chunks) { out.set(c, off); off += c.byteLength }
      return out
    })()
    for (let off = 0; off < bytes.length; off += 16 * 1024) {
      if (!stream.send(bytes.subarray(off, off + 16 * 1024))) await stream.onDrain({ signal: AbortSignal.timeout(10_000) })
    }
    await stream.close({ signal: AbortSignal.timeout(10_000) })
    const echoed = await Promise.race([
      received,
      new Promise<never>((_resolve, reject) => setTimeout(() => { reject(new Error('echo: no end of stream within 20 s')) }, 20_000))
    ])
    return {
      path: conn.path,
      direct: conn.direct,
      attempts: conn.attempts,
      limited: conn.connection.limits != null,
      remoteAddr: conn.connection.remoteAddr.toString(),
      remotePeer: conn.remotePeer.toString(),
      echoed: toBase64(echoed)
    }
  },

  async resolveError (name, timeoutMs) {
    const t0 = performance.now()
    try {
      await current().resolve(name, { signal: AbortSignal.timeout(timeoutMs) })
      return null
    } catch (err) {
      const e = err as Error
      return { name: e.name, message: e.message, ms: Math.round(performance.now() - t0) }
    }
  },

  async stop () {
    await node?.stop()
    node = undefined
  }
}

;(window as unknown as MeshPageWindow).meshPage = meshPage
