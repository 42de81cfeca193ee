import { encodeRelayReports, encodeSignedRelayReports, MAX_RELAY_REPORTS_BYTES } from '@auralink/protocol'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { createRelayReports, verifyRelayReports } from '../src/index.js'
import type { RelayReports } from '../src/index.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'

const NOW = 1_800_000_000_000
const REFUSALS = ['InvalidRelayReportError', 'MessageTooLargeError']

async function peer (): Promise<{ key: PrivateKey, id: PeerId }> {
  const key = await generateKeyPair('Ed25519')
  return { key, id: peerIdFromPublicKey(key.publicKey) }
}

describe('signed relay reports', () => {
  let reporter: { key: PrivateKey, id: PeerId }
  let relayA: PeerId
  let relayB: PeerId
  let batch: RelayReports
  beforeAll(async () => {
    reporter = await peer()
    relayA = (await peer()).id
    relayB = (await peer()).id
    batch = await createRelayReports(reporter.key, [{ relay: relayA, value: 0.9 }, { relay: relayB, value: 0.1234 }], { now: NOW })
  })

  it('verifyRelayReports(createRelayReports(...)) gives back the reporter, the time and each opinion (to a thousandth)', async () => {
    const back = await verifyRelayReports(batch.bytes, { now: NOW + 1000, from: reporter.id })
    expect(back.reporter.equals(reporter.id)).toBe(true)
    expect(back.at).toBe(NOW)
    expect(back.entries.map((e) => [e.relay.toString(), e.value])).toEqual([[relayA.toString(), 0.9], [relayB.toString(), 0.123]])
  })

  it('refuses a batch passed on by another peer than its signer (reason sender)', async () => {
    const other = await peer()
    await expect(verifyRelayReports(batch.bytes, { now: NOW, from: other.id })).rejects.toMatchObject({ name: 'InvalidRelayReportError', reason: 'sender' })
  })

  it('refuses a batch dated over a minute ahead or over an hour old (reason time)', async () => {
    await expect(verifyRelayReports(batch.bytes, { now: NOW - 61_000 })).rejects.toMatchObject({ reason: 'time' })
    await expect(verifyRelayReports(batch.bytes, { now: NOW + 3_600_001 })).rejects.toMatchObject({ reason: 'time' })
    await expect(verifyRelayReports(batch.bytes, { now: NOW - 59_000 })).resolves.toBeDefined()
  })

  it('refuses a payload naming one key signed by another, and a signature without the domain prefix (reason signature)', async () => {
    const thief = await peer()
    const payload = encodeRelayReports({ publicKey: publicKeyToProtobuf(reporter.key.publicKey), entries: [{ relay: relayA.toString(), valueMilli: 1000 }], at: NOW })
    const forged = encodeSignedRelayReports({ payload, signature: await thief.key.sign(payload) })
    await expect(verifyRelayReports(forged, { now: NOW })).rejects.toMatchObject({ reason: 'signature' })
    const noDomain = encodeSignedRelayReports({ payload, signature: await reporter.key.sign(payload) })
    await expect(verifyRelayReports(noDomain, { now: NOW })).rejects.toMatchObject({ reason: 'signature' })
  })

  it('refuses fields out of bounds: no entries, a relay twice, a report about the reporter, a value over 1000 (reason fields)', async () => {
    const sign = async (entries: Array<{ relay: string, valueMilli: number }>): Promise<Uint8Array> => {
      const payload = encodeRelayReports({ publicKey: publicKeyToProtobuf(reporter.key.publicKey), entries, at: NOW })
      const domain = new TextEncoder().encode('auralink-relay-reports:')
      const signed = new Uint8Array(domain.length + payload.length)
      signed.set(domain)
      signed.set(payload, domain.length)
      return encodeSignedRelayReports({ payload, signature: await reporter.key.sign(signed) })
    }
    const a = relayA.toString()
    // the honest signature: a control that the helper signs what verify checks
    await expect(verifyRelayReports(await sign([{ relay: a, valueMilli: 500 }]), { now: NOW })).resolves.toBeDefined()
    for (const entries of [[], [{ relay: a, valueMilli: 1 }, { relay: a, valueMilli: 2 }], [{ relay: reporter.id.toString(), valueMilli: 1 }], [{ relay: a, valueMilli: 1001 }]]) {
      await expect(verifyRelayReports(await sign(entries), { now: NOW })).rejects.toMatchObject({ name: 'InvalidRelayReportError', reason: 'fields' })
    }
    await expect(verifyRelayReports(await sign([{ relay: 'not-a-peer-id', valueMilli: 1 }]), { now: NOW })).rejects.toMatchObject({ reason: 'malformed' })
  })

  it('refuses oversized, truncated and garbage input with typed errors', async () => {
    await expect(verifyRelayReports(new Uint8Array(MAX_RELAY_REPORTS_BYTES + 1), { now: NOW })).rejects.toMatchObject({ name: 'MessageTooLargeError' })
    await expect(verifyRelayReports(batch.bytes.subarray(0, batch.bytes.length - 5), { now: NOW })).rejects.toMatchObject({ name: 'InvalidRelayReportError' })
    await expect(verifyRelayReports(new Uint8Array([0xff, 0xff, 0xff]), { now: NOW })).rejects.toMatchObject({ name: 'InvalidRelayReportError', reason: 'malformed' })
  })

  it('rejects every single-byte change of a valid batch with a typed error (property)', async () => {
    await fc.assert(fc.asyncProperty(fc.nat(batch.bytes.length - 1), fc.integer({ min: 1, max: 255 }), async (i, x) => {
      const bytes = batch.bytes.slice()
      bytes[i] = bytes[i]! ^ x
      const err = await verifyRelayReports(bytes, { now: NOW }).then(() => undefined, (e: Error) => e)
      expect(err, `byte ${i} ^ ${x} was accepted`).toBeDefined()
      expect(REFUSALS).toContain(err!.name)
    }), { numRuns: 300 })
  })

  it('createRelayReports() refuses bad entries, naming them', async () => {
    await expect(createRelayReports(reporter.key, [])).rejects.toThrow(/1 to 64 reports, got 0/)
    await expect(createRelayReports(reporter.key, [{ relay: relayA, value: 1.5 }])).rejects.toThrow(/entries\[0\]\.value must be a number from 0 to 1, got 1.5/)
    await expect(createRelayReports(reporter.key, [{ relay: relayA, value: 1 }, { relay: relayA, value: 0 }])).rejects.toThrow(/entries\[1\]: a second report/)
    await expect(createRelayReports(reporter.key, [{ relay: reporter.id, value: 1 }])).rejects.toThrow(/about the reporter itself/)
    await expect(createRelayReports(reporter.key, [{ relay: 'x' as unknown as PeerId, value: 1 }])).rejects.toThrow(TypeError)
  })
})
