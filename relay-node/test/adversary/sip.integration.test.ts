import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { generateIdentityKey } from '@auralink/identity'
import { decodeSipEvent, DirectoryError, encodeSipRequest, MAX_SIP_MESSAGE_BYTES, SIP_PROTOCOL } from '@auralink/protocol'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { freeUdpPort } from '../../../test-utils/baresip.js'
import { cleanup, metric, onCleanup, register, startRelay, stockPeer, until } from './harness.js'
import type { SipEventMessage } from '@auralink/protocol'
import type { Libp2p, Stream } from '@libp2p/interface'
import type { Socket } from 'node:dgram'

// The relay's SIP protocol (/auralink/sip/1.0.0, docs/sip.md) against stock js-libp2p peers that
// speak it as raw length-prefixed protobuf: a real relay node in this process with SIP on, its one
// trunk a UDP socket of the test's that answers nothing and counts what the relay sends it (so
// that "nothing reached the trunk" can be checked). The offers are hand-written SDP that never
// connects: all a refusal or a limit needs. Real calls are e2e/sip-call.e2e.test.ts.

/** An audio offer (Opus, sent and received), as a browser's would read, that never connects. */
function offer (): string {
  const fingerprint = Array.from(randomBytes(32), (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':')
  return ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0', 'a=msid-semantic: WMS s',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0', 'a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host',
    'a=ice-ufrag:abcd', 'a=ice-pwd:abcdefghijklmnopqrstuvwx', `a=fingerprint:sha-256 ${fingerprint}`, 'a=setup:actpass',
    'a=mid:0', 'a=sendrecv', 'a=msid:s audio', 'a=rtcp-mux', 'a=rtpmap:111 opus/48000/2', 'a=ssrc:1111 cname:c', ''].join('\r\n')
}

/** A UDP socket standing in for a trunk: every datagram's first line, in order. */
async function silentTrunk (): Promise<{ port: number, lines: string[], socket: Socket }> {
  const socket = createSocket('udp4')
  const lines: string[] = []
  socket.on('message', (b) => { lines.push(b.toString('latin1').split('\r\n')[0]!) })
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  onCleanup(() => { socket.close() })
  return { port: socket.address().port, lines, socket }
}

/** Opens a SIP stream, writes `bytes` as one length-prefixed message (or raw, unprefixed, with `raw`), reads the relay's first answer. */
async function ask (node: Libp2p, addr: string, bytes: Uint8Array, raw = false): Promise<{ first: SipEventMessage, stream: Stream }> {
  const signal = AbortSignal.timeout(10_000)
  const stream = await node.dialProtocol(multiaddr(addr), SIP_PROTOCOL, { signal })
  const lp = lpStream(stream, { maxDataLength: MAX_SIP_MESSAGE_BYTES })
  if (raw) {
    stream.send(bytes)
  } else {
    await lp.write(bytes, { signal })
  }
  const first = decodeSipEvent((await lp.read({ signal })).subarray())
  return { first, stream }
}

describe('the relay\'s SIP protocol against stock libp2p peers', () => {
  afterEach(cleanup)

  it('refused before anything reaches the trunk: bytes that are no request, a message over 17 KiB, a client holding no name, a target on no trunk; each answered with why and counted', async () => {
    const trunk = await silentTrunk()
    const { relay, addr } = await startRelay({ namedMinAgeMs: 0, sipListen: `127.0.0.1:${await freeUdpPort()}`, sipTrunks: [{ name: 'pbx', host: '127.0.0.1', port: trunk.port, transport: 'udp' }] })
    const target = `sip:alice@127.0.0.1:${trunk.port}`
    const stranger = await stockPeer()
    // not protobuf: a length prefix, then bytes that do not decode as a SipRequest
    const garbage = await ask(stranger, addr, Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]))
    expect(garbage.first).toMatchObject({ state: 'ended', endReason: 'refused', message: expect.stringContaining('does not decode') })
    // over the message cap: the relay stops reading at the length prefix
    const big = await ask(stranger, addr, encodeSipRequest({ target, offerSdp: 'x'.repeat(MAX_SIP_MESSAGE_BYTES + 100) }))
    expect(big.first).toMatchObject({ state: 'ended', endReason: 'refused' })
    const noName = await ask(stranger, addr, encodeSipRequest({ target, offerSdp: offer() }))
    expect(noName.first).toMatchObject({ state: 'ended', endReason: 'refused', message: expect.stringContaining('holds a name') })
    const key = await generateIdentityKey()
    const named = await stockPeer({ privateKey: key })
    expect(await register(named, addr, key, '@mallory.aura')).toBe(DirectoryError.DIRECTORY_ERROR_NONE)
    const elsewhere = await ask(named, addr, encodeSipRequest({ target: 'sip:alice@192.0.2.1:5060', offerSdp: offer() }))
    expect(elsewhere.first).toMatchObject({ state: 'ended', endReason: 'refused', message: expect.stringContaining('none of this relay\'s trunks') })
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(trunk.lines).toEqual([])
    expect(await metric(relay, 'auralink_sip_requests_total', { result: 'bad_request' })).toBe(2)
    expect(await metric(relay, 'auralink_sip_requests_total', { result: 'no_name' })).toBe(1)
    expect(await metric(relay, 'auralink_sip_requests_total', { result: 'not_trunk' })).toBe(1)
  })

  it('calls at once: past --max-sip-calls-per-peer (2) and --max-sip-calls (3) refused "limit"; a client closing its streams hangs its calls up (CANCEL to the trunk) and frees the places', async () => {
    const trunk = await silentTrunk()
    const { relay, addr } = await startRelay({ namedMinAgeMs: 0, maxSipCalls: 3, maxSipCallsPerPeer: 2, sipListen: `127.0.0.1:${await freeUdpPort()}`, sipTrunks: [{ name: 'pbx', host: '127.0.0.1', port: trunk.port, transport: 'udp' }] })
    const target = `sip:alice@127.0.0.1:${trunk.port}`
    const clients = await Promise.all([0, 1].map(async (i) => {
      const key = await generateIdentityKey()
      const node = await stockPeer({ privateKey: key })
      expect(await register(node, addr, key, `@caller-${i}.aura`)).toBe(DirectoryError.DIRECTORY_ERROR_NONE)
      return node
    }))
    const call = async (node: Libp2p): Promise<{ first: SipEventMessage, stream: Stream }> => ask(node, addr, encodeSipRequest({ target, offerSdp: offer() }))
    const a1 = await call(clients[0]!)
    const a2 = await call(clients[0]!)
    const a3 = await call(clients[0]!)
    expect([a1.first.state, a2.first.state]).toEqual(['calling', 'calling'])
    expect(a1.first.answerSdp).toMatch(/^v=0/)
    expect(a3.first).toMatchObject({ state: 'ended', endReason: 'limit', message: expect.stringContaining('for one client') })
    const b1 = await call(clients[1]!)
    const b2 = await call(clients[1]!)
    expect(b1.first.state).toBe('calling')
    expect(b2.first).toMatchObject({ state: 'ended', endReason: 'limit', message: expect.stringContaining('3 SIP call(s) at once, all taken') })
    // three INVITEs reached the trunk (and their retransmits: it answers nothing)
    await until(() => trunk.lines.filter((l) => l.startsWith('INVITE')).length >= 3, true, 5_000)
    expect(await metric(relay, 'auralink_sip_requests_total', { result: 'placed' })).toBe(3)
    expect(await metric(relay, 'auralink_sip_requests_total', { result: 'limit' })).toBe(2)
    expect(await metric(relay, 'auralink_sip_calls_active')).toBe(3)
    // the first client goes away: its two calls are cancelled, and their places free
    for (const s of [a1.stream, a2.stream]) await s.close()
    await until(async () => metric(relay, 'auralink_sip_calls_active'), 1, 10_000)
    expect(trunk.lines.filter((l) => l.startsWith('CANCEL')).length).toBeGreaterThanOrEqual(2)
    expect(await metric(relay, 'auralink_sip_calls_ended_total', { reason: 'hangup' })).toBe(2)
    const again = await call(clients[1]!)
    expect(again.first.state).toBe('calling')
  })

  it('a trunk that sends INVITEs faster than --sip-call-rate-limit (3 a minute here): the first three are answered (404: no one holds the name), the rest 503 at once, each counted; nothing rings', async () => {
    // the "trunk" is a raw UDP socket writing INVITEs by hand: no SIP code of ours helps it
    const trunk = await silentTrunk()
    const sipPort = await freeUdpPort()
    const { relay } = await startRelay({ namedMinAgeMs: 0, sipCallRateLimit: 3, sipListen: `127.0.0.1:${sipPort}`, sipTrunks: [{ name: 'pbx', host: '127.0.0.1', port: trunk.port, transport: 'udp' }] })
    const finals = new Map<string, string>()
    trunk.socket.on('message', (b) => {
      const text = b.toString('latin1')
      const status = /^SIP\/2\.0 (\d{3})/.exec(text)?.[1]
      const callId = /\r\nCall-ID:\s*([^\r]+)/i.exec(text)?.[1]
      if (status !== undefined && callId !== undefined && Number(status) >= 200) finals.set(callId, status)
    })
    // a G.711 offer, as a phone's (without one the gateway answers 488 before anything else)
    const sdp = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${trunk.port + 2} RTP/AVP 0`, 'a=rtpmap:0 PCMU/8000', 'a=sendrecv', ''].join('\r\n')
    const invite = (n: number): Buffer => {
      const callId = `flood-${n}@127.0.0.1`
      return Buffer.from([
        `INVITE sip:nobody@127.0.0.1:${sipPort} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${trunk.port};branch=z9hG4bK-flood-${n}`,
        'Max-Forwards: 70',
        `From: <sip:caller@127.0.0.1:${trunk.port}>;tag=t${n}`,
        `To: <sip:nobody@127.0.0.1:${sipPort}>`,
        `Call-ID: ${callId}`,
        'CSeq: 1 INVITE',
        `Contact: <sip:caller@127.0.0.1:${trunk.port}>`,
        'Content-Type: application/sdp',
        `Content-Length: ${sdp.length}`,
        '', sdp
      ].join('\r\n'), 'latin1')
    }
    for (let n = 0; n < 5; n++) trunk.socket.send(invite(n), sipPort, '127.0.0.1')
    await until(() => finals.size, 5, 10_000)
    expect([...finals.values()].sort()).toEqual(['404', '404', '404', '503', '503'])
    expect(await metric(relay, 'auralink_sip_inbound_total', { result: 'not_found' })).toBe(3)
    expect(await metric(relay, 'auralink_sip_inbound_total', { result: 'rate' })).toBe(2)
    expect(await metric(relay, 'auralink_sip_calls_active')).toBe(0)
  })
})
