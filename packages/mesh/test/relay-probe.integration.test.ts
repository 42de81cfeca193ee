import { encodeRelayProbeRequest, MAX_RELAY_PROBE_BYTES, RELAY_PROBE_PROTOCOL } from '@auralink/protocol'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { afterEach, describe, expect, it } from 'vitest'
import { createMeshNode } from '../src/index.js'
import { probeRelay } from '../src/relay-probe.js'
import { startDelayProxy } from '../../../test-utils/delay-proxy.js'
import { freePort, relayMetric, startRelayProcess, stopAll } from '../../../test-utils/relay-process.js'
import type { MeshNode } from '../src/index.js'
import type { DelayProxy } from '../../../test-utils/delay-proxy.js'
import type { RelayProcess } from '../../../test-utils/relay-process.js'

// Throughput probes (`/auralink/relay-probe/1.0.0`) against real relay-node processes in the test
// namespace: what the relay sends, its limits, and the bandwidth part of the score they feed.
describe('relay throughput probes', () => {
  const nodes: MeshNode[] = []
  const relays: RelayProcess[] = []
  const proxies: DelayProxy[] = []
  afterEach(async () => {
    await stopAll(nodes, relays)
    for (const p of proxies.splice(0)) await p.close()
  })

  async function peer (addrs: string[], init: Parameters<typeof createMeshNode>[0] = {}): Promise<MeshNode> {
    const node = await createMeshNode({ relays: addrs, relayCheckIntervalMs: 250, ...init })
    nodes.push(node)
    await node.start()
    await node.waitForReservation({ signal: AbortSignal.timeout(15_000) })
    return node
  }
  const idOf = (addr: string): string => addr.split('/p2p/').pop()!

  it('probeRelay() gets exactly the bytes asked for and times them; the relay resets a request over 1 MiB and one past --probe-rate-limit, counted in /metrics', async () => {
    const relay = await startRelayProcess({ args: ['--probe-rate-limit', '3'] })
    relays.push(relay)
    const node = await peer([relay.addr], { relayProbe: { bytes: 0 } })
    const id = peerIdFromString(idOf(relay.addr))

    const result = await probeRelay(node.libp2p, id, 300_000, { signal: AbortSignal.timeout(10_000) })
    expect(result.bytes).toBe(300_000)
    expect(result.bytesPerSecond).toBeGreaterThan(0)
    expect(result.ms).toBeGreaterThan(0)
    await expect(probeRelay(node.libp2p, id, MAX_RELAY_PROBE_BYTES + 1)).rejects.toThrow(RangeError)

    // past the client's own check: the relay itself refuses more than the cap
    const stream = await node.libp2p.dialProtocol(id, RELAY_PROBE_PROTOCOL)
    const lp = lpStream(stream)
    await lp.write(encodeRelayProbeRequest({ bytes: MAX_RELAY_PROBE_BYTES + 1 }))
    const raw = lp.unwrap()
    let got = 0
    await expect((async () => { for await (const chunk of raw) got += chunk.byteLength })()).rejects.toThrow()
    expect(got).toBe(0)

    // that was the second probe of the minute, this the third; the fourth is past the limit of 3
    await probeRelay(node.libp2p, id, 1000)
    await expect(probeRelay(node.libp2p, id, 1000, { signal: AbortSignal.timeout(10_000) })).rejects.toThrow()
    expect(await relayMetric(relay, /^auralink_relay_limit_hits_total\{limit="probe_rate"\} (\d+)$/m)).toBe(1)
  })

  it('a mesh node probes each relay when it connects: a relay behind a 150 KB/s link gets the lower bandwidth part', async () => {
    const fast = await startRelayProcess()
    relays.push(fast)
    // the thin relay announces only the proxy's address, so no peer learns a way around it
    const port = await freePort()
    const proxy = await startDelayProxy(port, 0, { bytesPerSecond: 150_000 })
    proxies.push(proxy)
    const thin = await startRelayProcess({ port, args: ['--announce', `/ip4/127.0.0.1/tcp/${proxy.port}/ws`] })
    relays.push(thin)
    const node = await peer([fast.addr, thin.addr], { relayProbe: { bytes: 256 * 1024 } })
    const [fastId, thinId] = [idOf(fast.addr), idOf(thin.addr)]

    const weights = (): number[] => [fastId, thinId].map((id) => node.scorer.toJSON().relays[id]?.throughput?.weight ?? 0)
    await expect.poll(() => weights().every((w) => w > 0.5), { timeout: 20_000, interval: 100 }).toBe(true)
    const snap = node.scorer.toJSON().relays
    // the proxy cannot carry more than its rate; loopback carries far more
    expect(snap[thinId]!.throughput!.mean).toBeLessThan(200_000)
    expect(snap[fastId]!.throughput!.mean).toBeGreaterThan(snap[thinId]!.throughput!.mean)
    const parts = Object.fromEntries(node.relays().map((r) => [r.peerId.toString(), r.score.parts.bandwidth]))
    expect(parts[fastId]).toBeGreaterThan(parts[thinId]!)
    // one probe per relay per interval (10 minutes by default): no second sample meanwhile
    await new Promise((resolve) => setTimeout(resolve, 1000))
    // (a weight decays a little with time; a second sample would add 1)
    expect(weights().every((w) => w > 0.5 && w <= 1)).toBe(true)
  })
})
