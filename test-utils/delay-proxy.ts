import { createConnection, createServer } from 'node:net'
import type { Server, Socket } from 'node:net'

// A TCP proxy on 127.0.0.1 that holds every chunk `delayMs` before passing it on, in each
// direction, in order: a slow network path in front of a real server (the kernel's netem qdisc
// is not available in the test namespace). Used to make a real relay node look 2 x delayMs away.

export interface DelayProxy {
  readonly port: number
  close(): Promise<void>
}

export async function startDelayProxy (targetPort: number, delayMs: number): Promise<DelayProxy> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((inbound) => {
    const outbound = createConnection({ host: '127.0.0.1', port: targetPort })
    for (const s of [inbound, outbound]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => { inbound.destroy(); outbound.destroy() })
    }
    pipeDelayed(inbound, outbound, delayMs)
    pipeDelayed(outbound, inbound, delayMs)
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

function pipeDelayed (from: Socket, to: Socket, delayMs: number): void {
  // chunks leave in arrival order, each no earlier than delayMs after it came
  let last = 0
  from.on('data', (chunk: Buffer) => {
    const at = Math.max(Date.now() + delayMs, last)
    last = at
    setTimeout(() => { if (!to.destroyed) to.write(chunk) }, at - Date.now())
  })
  from.on('end', () => { setTimeout(() => { to.end() }, Math.max(0, last - Date.now()) + 1) })
}
