import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2'
import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../src/index.js'
import { relayGuard } from '../src/relay-guard.js'
import type { Connection, Stream, StreamHandler } from '@libp2p/interface'

// A timer keeps the async context it was armed in (AsyncLocalStorage's store) until it fires or
// is cleared. The circuit relay server arms long timers inside its hop handler: a reservation's
// TTL (2 h by default, re-armed on every refresh) and the hop timeout (30 s). bench/fuzz showed
// each refreshed reservation keeping its whole hop stream, and the yamux state behind it, for
// the TTL; these tests make a real garbage collection and check that the stream goes.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** Runs full collections, a macrotask apart, until `gone()` or 20 tries. */
async function collectUntil (gone: () => boolean): Promise<boolean> {
  for (let i = 0; i < 20 && !gone(); i++) {
    await new Promise((resolve) => setImmediate(resolve))
    gc()
  }
  return gone()
}

class FakeStream extends EventTarget {
  status = 'open'
  payload = new Uint8Array(64 * 1024)
}

const cleanup: Array<() => void> = []

/** The guard's wrapped hop handler around `server` (what the circuit relay server does on a stream). */
function wrapped (server: StreamHandler): StreamHandler {
  const guard = relayGuard({ ...DEFAULTS })
  cleanup.push(() => { guard.stop() })
  let hop: StreamHandler | undefined
  const registrar = guard.wrapRegistrar({ handle: async (protocol: string, handler: StreamHandler) => { if (protocol === RELAY_V2_HOP_CODEC) hop = handler } })
  void registrar.handle(RELAY_V2_HOP_CODEC, server)
  return hop!
}

describe('relayGuard hop context', () => {
  afterEach(() => {
    for (const f of cleanup.splice(0)) f()
  })

  it('wrapRegistrar(registrar): a timer the hop handler arms does not keep the hop stream once the handler returns', async () => {
    const hop = wrapped(async () => {
      // as the reservation store on a refresh: a 2-hour timer, armed inside the handler
      const timer = setTimeout(() => {}, 7_200_000)
      timer.unref()
      cleanup.push(() => { clearTimeout(timer) })
    })
    let stream: FakeStream | undefined = new FakeStream()
    const ref = new WeakRef(stream)
    await hop(stream as unknown as Stream, {} as unknown as Connection)
    stream = undefined
    expect(await collectUntil(() => ref.deref() === undefined)).toBe(true)
  })

  it('wrapRegistrar(registrar): an AbortSignal.timeout() with a listener left on it does not keep the hop stream once the handler returns', async () => {
    const hop = wrapped(async () => {
      // as retimeable-signal's reset(): a timeout signal whose abort listener is never removed
      AbortSignal.timeout(7_200_000).addEventListener('abort', () => {})
    })
    let stream: FakeStream | undefined = new FakeStream()
    const ref = new WeakRef(stream)
    await hop(stream as unknown as Stream, {} as unknown as Connection)
    stream = undefined
    expect(await collectUntil(() => ref.deref() === undefined)).toBe(true)
  })

  it('wrapRegistrar(registrar): the hop stream is still reachable while its handler runs', async () => {
    let seen: FakeStream | undefined
    let release = (): void => {}
    const held = new Promise<void>((resolve) => { release = resolve })
    const hop = wrapped(async (s) => { seen = s as unknown as FakeStream; await held })
    const running = hop(new FakeStream() as unknown as Stream, {} as unknown as Connection)
    const ref = new WeakRef(seen!)
    seen = undefined
    expect(await collectUntil(() => ref.deref() === undefined)).toBe(false)
    release()
    await running
  })
})
