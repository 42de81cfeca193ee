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
// the relay and gets its bytes echoed; the relay's configured limits hold against them.
// WebSockets on 127.0.0.1 only.
describe('auralink-relay with stock js-libp2p nodes', () => {
  let child: ChildProcess | undefined
  let dir: string | undefined
  const nodes: Libp2p[] = []
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
    if (child?.exitCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child?.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  const startRelay = async (args: string[] = []): Promise<{ relayAddr: string, httpUrl: string }> => {
    dir = await mkdtemp(join(tmpdir(), 'auralink-interop-'))
    child = spawn(process.execPath, [CLI, '--port', '0', '--http-port', '0', '--data-dir', dir, '--log-level', 'warn', ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    const [relayAddr, httpUrl] = await new Promise<[string, string]>((resolve, reject) => {
      const t = setTimeout(() => { reject(new Error(`relay did not start:\n${out}`)) }, 20_000)
      child!.stdout!.on('data', (d) => {
        out += String(d)
        const m = /auralink-relay listening (\S+)[\s\S]*auralink-relay http (\S+)/.exec(out)
        if (m?.[1] != null && m[2] != null) { clearTimeout(t); resolve([m[1], m[2]]) }
      })
    })
    return { relayAddr, httpUrl }
  }
  // a stock js-libp2p node: nothing from AuraLink
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
  const echoListener = async (relayAddr: string): Promise<{ listener: Libp2p, circuit: string }> => {
    const listener = await stock([`${relayAddr}/p2p-circuit`])
    await listener.handle('/interop/echo/1.0.0', async (stream) => {
      for await (const chunk of stream) stream.send(chunk)
      await stream.close()
    }, { runOnLimitedConnection: true })
    const circuit = listener.getMultiaddrs().find((a) => a.toString().includes('/p2p-circuit'))
    return { listener, circuit: circuit?.toString() ?? '' }
  }
  const echo = async (dialer: Libp2p, circuit: string, payload: Uint8Array): Promise<Uint8Array> => {
    const stream = await dialer.dialProtocol(multiaddr(circuit), '/interop/echo/1.0.0', { runOnLimitedConnection: true })
    stream.send(payload)
    await stream.close()
    const chunks: Uint8Array[] = []
    for await (const c of stream) chunks.push(c.subarray())
    return Buffer.concat(chunks)
  }

  it('a stock node reserves on the relay and another stock node reaches it through /p2p-circuit', async () => {
    const { relayAddr, httpUrl } = await startRelay()
    const { listener, circuit } = await echoListener(relayAddr)
    expect(circuit).toBe(`${relayAddr}/p2p-circuit/p2p/${listener.peerId.toString()}`)

    const dialer = await stock([])
    const got = await echo(dialer, circuit, new TextEncoder().encode('hello through an AuraLink relay'))
    expect(Buffer.from(got).toString()).toBe('hello through an AuraLink relay')

    // the relay counts the stock node's reservation
    const metrics = await (await fetch(`${httpUrl}/metrics`)).text()
    expect(metrics).toMatch(/^auralink_relay_reservations 1$/m)
    const health = await (await fetch(`${httpUrl}/healthz`)).json() as { reservations: number }
    expect(health.reservations).toBe(1)
  })

  it('--max-reservations 1: a second stock node is refused a reservation', async () => {
    const { relayAddr, httpUrl } = await startRelay(['--max-reservations', '1'])
    await echoListener(relayAddr)
    // a stock node whose only listen address is the circuit fails to start, as js-libp2p does
    await expect(stock([`${relayAddr}/p2p-circuit`])).rejects.toThrow(/RESERVATION_REFUSED/)
    const metrics = await (await fetch(`${httpUrl}/metrics`)).text()
    expect(metrics).toMatch(/^auralink_relay_reservations 1$/m)
  })

  it('--relay-data-limit 32768: the relay cuts a relayed connection that carries more than 32 KiB', async () => {
    const { relayAddr } = await startRelay(['--relay-data-limit', '32768'])
    const { circuit } = await echoListener(relayAddr)
    const dialer = await stock([])
    // under the limit: echoed whole
    expect((await echo(dialer, circuit, new Uint8Array(1000).fill(1))).length).toBe(1000)
    // then over the limit on the same circuit (40 KiB each way: under the 128 KiB default,
    // over the 32 KiB set here; the relay counts both directions together): never echoed whole
    const big = new Uint8Array(40 * 1024).fill(2)
    const result = await Promise.race([
      echo(dialer, circuit, big).then((b) => b.length, (err: unknown) => err as Error),
      new Promise<Error>((resolve) => setTimeout(() => { resolve(new Error('stalled: the relay stopped forwarding')) }, 10_000))
    ])
    if (typeof result === 'number') expect(result).toBeLessThan(big.length)
    else expect(result).toBeInstanceOf(Error)
  })

  it('--relay-duration-limit-ms 1000: the relay closes a relayed connection after 1 s', async () => {
    const { relayAddr } = await startRelay(['--relay-duration-limit-ms', '1000'])
    const { listener, circuit } = await echoListener(relayAddr)
    const dialer = await stock([])
    expect((await echo(dialer, circuit, Uint8Array.of(1, 2, 3))).length).toBe(3)
    const relayed = (): number => dialer.getConnections(listener.peerId).filter((c) => c.status === 'open').length
    expect(relayed()).toBe(1)
    const until = Date.now() + 5000
    while (relayed() > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 100))
    expect(relayed()).toBe(0)
  })
})
