import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import { createMeshNode } from '../src/index.js'
import { startStockRelay } from './fixtures.js'
import type { MeshNode, RelayInfo } from '../src/index.js'
import type { Libp2p } from '@libp2p/interface'

describe('createMeshNode', () => {
  const nodes: MeshNode[] = []
  const relays: Libp2p[] = []
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
    await Promise.all(relays.splice(0).map(async (r) => r.stop()))
  })

  it('createMeshNode({ relays }) refuses a relay address that is not a multiaddr, naming it', async () => {
    await expect(createMeshNode({ relays: ['not-an-addr'] })).rejects.toThrow(/relays\[0\] is neither a multiaddr nor a ws:\/\/ or wss:\/\/ URL: "not-an-addr"/)
  })

  it('createMeshNode({ dial: { retries: -1 } }) throws RangeError naming dial.retries', async () => {
    await expect(createMeshNode({ dial: { retries: -1 } })).rejects.toThrow(/dial\.retries/)
  })

  it('createMeshNode({ dtlsClient }) throws TypeError naming dtlsClient and the bad value', async () => {
    for (const bad of ['server', '', 1, {}]) {
      await expect(createMeshNode({ dtlsClient: bad as never })).rejects.toThrow(new TypeError(`dtlsClient must be 'offerer' or 'answerer', got ${JSON.stringify(bad)}`))
    }
  })

  it('createMeshNode({ dial: { stallMs: 0 } }) and ({ dial: { timeoutMs: NaN } }) throw RangeError naming the option and the value', async () => {
    await expect(createMeshNode({ dial: { stallMs: 0 } })).rejects.toThrow(new RangeError('dial.stallMs must be a number > 0, got 0'))
    await expect(createMeshNode({ dial: { timeoutMs: Number.NaN } })).rejects.toThrow(new RangeError('dial.timeoutMs must be a number > 0, got NaN'))
  })

  it('resolve() before start() rejects with InvalidStateError', async () => {
    const node = await createMeshNode()
    await expect(node.resolve('@bob.aura')).rejects.toThrow(expect.objectContaining({ name: 'InvalidStateError' }))
  })

  it('resolve() with no relays configured rejects with RelayUnreachableError saying so', async () => {
    const node = await createMeshNode()
    nodes.push(node)
    await node.start()
    await expect(node.resolve('@bob.aura')).rejects.toThrow(expect.objectContaining({ name: 'RelayUnreachableError', message: expect.stringMatching(/no relays configured/) }))
  })

  it('dial() of a bad AuraID rejects with InvalidAuraIdError before any network work', async () => {
    const node = await createMeshNode()
    nodes.push(node)
    await node.start()
    await expect(node.dial('@Bob.aura')).rejects.toThrow(expect.objectContaining({ name: 'InvalidAuraIdError', rule: 'charset' }))
    await expect(node.dial(42 as never)).rejects.toThrow(TypeError)
  })

  it('relays() reports an unreachable relay as down with the dial error, and a reachable one as reserved', async () => {
    const { relay, addr } = await startStockRelay()
    relays.push(relay)
    // a relay nobody runs: a closed port and a peer id of its own
    const dead = `/ip4/127.0.0.1/tcp/1/ws/p2p/${peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()}`
    const node = await createMeshNode({ relays: [addr, dead], relayCheckIntervalMs: 200 })
    nodes.push(node)
    await node.start()
    await node.waitForReservation({ signal: AbortSignal.timeout(10_000) })
    // relays() lists best score first: find each by address
    const info = (a: string): RelayInfo | undefined => node.relays().find((r) => r.addr.toString() === a)
    expect(info(addr)?.state).toBe('reserved')
    await expect.poll(() => info(dead)?.failures, { timeout: 5000 }).toBeGreaterThan(0)
    expect(info(dead)?.state).not.toBe('reserved')
    expect(info(dead)?.lastError).toBeTruthy()
    expect(node.relays().map((r) => r.addr.toString())).toEqual([addr, dead])
  })
})
