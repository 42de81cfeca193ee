import { createConnection, createServer } from 'node:net'
import type { Server, Socket } from 'node:net'

// A TCP proxy on 127.0.0.1 that holds every chunk `delayMs` before passing it on, in each
// direction, in order, and with `bytesPerSecond` paces the chunks to that rate: a slow network
// path in front of a real server (the kernel's netem and tbf qdiscs are not available in the test
// namespace). Used to make a real relay node look 2 x delayMs away, or behind a thin link.

export interface DelayProxy {
  readonly port: number
  close(): Promise<void>
}

export async function startDelayProxy (targetPort: number, delayMs: number, options: { bytesPerSecond?: number } = {}): Promise<DelayProxy> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((inbound) => {
    const outbound = createConnection({ host: '127.0.0.1', port: targetPort })
    for (const s of [inbound, outbound]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => { inbound.destroy(); outbound.destroy() })
    }
    pipeDelayed(inbound, outbound, delayMs, options.bytesPerSecond)
    pipeDelayed(outbound, inbound, delayMs, options.bytesPerSecond)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => { resolve() })
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('delay proxy: no TCP port')
  return {
    port: address.port,
    async close () {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}

function pipeDelayed (from: Socket, to: Socket, delayMs: number, bytesPerSecond?: number): void {
  // chunks leave in arrival order, each no earlier than delayMs after it came and, with a rate,
  // once the link has had the time to carry it after the one before. One queue and one timer per
  // direction: timers of their own could fire out of order (same millisecond, other durations),
  // and reordered bytes break the encrypted stream.
  const queue: Array<{ at: number, chunk?: Buffer }> = []
  let last = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  const drain = (): void => {
    timer = undefined
    while (queue.length > 0 && queue[0]!.at <= Date.now()) {
      const { chunk } = queue.shift()!
      if (to.destroyed) return
      if (chunk === undefined) to.end()
      else to.write(chunk)
    }
    if (queue.length > 0) timer = setTimeout(drain, Math.max(1, queue[0]!.at - Date.now()))
  }
  const push = (at: number, chunk?: Buffer): void => {
    queue.push(chunk === undefined ? { at } : { at, chunk })
    timer ??= setTimeout(drain, Math.max(0, queue[0]!.at - Date.now()))
  }
  from.on('data', (chunk: Buffer) => {
    last = Math.max(Date.now() + delayMs, last) + (bytesPerSecond !== undefined ? chunk.byteLength / bytesPerSecond * 1000 : 0)
    push(last, chunk)
  })
  from.on('end', () => { push(Math.max(Date.now(), last)) })
}
