import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import type { Libp2p } from '@libp2p/interface'
import type { ChildProcess } from 'node:child_process'

const CLI = resolve(import.meta.dirname, '../dist/cli.js')

// Interop with code no one here wrote: two stock js-libp2p nodes (plain createLibp2p, no
// AuraLink code) use our relay-node process: one reserves a slot, the other reaches it through
// the relay and gets its bytes echoed. WebSockets on 127.0.0.1 only.
describe('auralink-relay with stock js-libp2p nodes', () => {
  let child: ChildProcess | undefined
  let dir: string | undefined
  const nodes: Libp2p[] = []
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
    if (child?.exitCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('a stock node reserves on the relay and another stock node reaches it through /p2p-circuit', async () => {
    dir = await mkdtemp(join(tmpdir(), 'auralink-interop-'))
    child = spawn(process.execPath, [CLI, '--port', '0', '--http-port', '0', '--data-dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    const [relayAddr, httpUrl] = await new Promise<[string, string]>((resolve, reject) => {
      const t = setTimeout(() => { reject(new Error(`relay did not start:\n${out}`)) }, 20_000)
      child!.stdout!.on('data', (d) => {
        out += String(d)
        const m = /auralink-relay listening (\S+)[\s\S]*auralink-relay http (\S+)/.exec(out)
        if (m?.[1] != null && m[2] != null) { clearTimeout(t); resolve([m[1], m[2]]) }
      })
    })
    const stock = async (listen: string[]): Promise<Libp2p> => {
      const node = await createLibp2p({
        addresses: { listen },
        transports: [webSockets(), circuitRelayTransport()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        connectionGater: { denyDialMultiaddr: () => false },
        services: { identify: identify() }
      })
      nodes.push(node)
      return node
    }
    const listener = await stock([`${relayAddr}/p2p-circuit`])
    await listener.handle('/interop/echo/1.0.0', async (stream) => {
      for await (const chunk of stream) stream.send(chunk)
      await stream.close()
    }, { runOnLimitedConnection: true })
    const circuit = listener.getMultiaddrs().find((a) => a.toString().includes('/p2p-circuit'))
    expect(circuit?.toString()).toBe(`${relayAddr}/p2p-circuit/p2p/${listener.peerId.toString()}`)

    const dialer = await stock([])
    const stream = await dialer.dialProtocol(multiaddr(circuit!.toString()), '/interop/echo/1.0.0', { runOnLimitedConnection: true })
    const payload = new TextEncoder().encode('hello through an AuraLink relay')
    stream.send(payload)
    await stream.close()
    const chunks: Uint8Array[] = []
    for await (const c of stream) chunks.push(c.subarray())
    expect(Buffer.concat(chunks).toString()).toBe('hello through an AuraLink relay')

    // the relay counts the stock node's reservation
    const metrics = await (await fetch(`${httpUrl}/metrics`)).text()
    expect(metrics).toMatch(/^auralink_relay_reservations 1$/m)
  })
})
