import { selectRecord, validateAuraId, verifyRecord } from '@auralink/identity'
import { DEFAULT_NETWORK_LOOKUP_TIMEOUT_MS, DEFAULT_NETWORK_PUBLISH_TIMEOUT_MS, DHT_RECORD_MAX_AGE_MS } from './constants.js'
import { InvalidDhtRecordError, NetworkLookupError, NetworkPublishError } from './errors.js'
import type { AuraIdRecord } from '@auralink/identity'
import type { DhtLocalRecords } from './dht-policy.js'
import type { AbortOptions, PeerId } from '@libp2p/interface'

/**
 * AuraIDs in a libp2p Kad-DHT: the record bytes (a `SignedAuraIdRecord`, exactly as registered)
 * under the key `/auraid/<name>`, e.g. `/auraid/@alice.aura`. libp2p picks a key's validator and
 * selector by its first path segment, so a DHT node is configured with
 * `validators: { auraid: auraIdDhtValidator }, selectors: { auraid: auraIdDhtSelector }`
 * (`AURAID_DHT_NAMESPACE`); a relay passes its write policy's validator (`auraIdDhtPolicy`).
 * docs/PROTOCOL.md, "AuraIDs in the DHT", is the spec.
 */
export const AURAID_DHT_NAMESPACE = 'auraid'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** The DHT key of a name: the UTF-8 bytes of `/auraid/<name>`. Throws InvalidAuraIdError for a bad name. */
export function auraIdDhtKey (name: string): Uint8Array {
  return encoder.encode(`/${AURAID_DHT_NAMESPACE}/${validateAuraId(name)}`)
}

/** The name in a DHT key `/auraid/<name>`; InvalidDhtRecordError for any other shape, InvalidAuraIdError for a bad name. */
function nameOfKey (key: Uint8Array): string {
  if (!(key instanceof Uint8Array)) throw new InvalidDhtRecordError(`the DHT key must be a Uint8Array, got ${typeof key}`)
  const text = decoder.decode(key)
  const parts = text.split('/')
  if (parts.length !== 3 || parts[0] !== '' || parts[1] !== AURAID_DHT_NAMESPACE) {
    throw new InvalidDhtRecordError(`the DHT key ${JSON.stringify(text)} is not /${AURAID_DHT_NAMESPACE}/<name>`)
  }
  return validateAuraId(parts[2]!)
}

/**
 * Verifies a DHT value against its key: a `SignedAuraIdRecord` that verifies (size, name rules,
 * Ed25519 key, fields, signature, validity not ended and not over a year ahead), names the very
 * name in the key, and is public or unlisted. Resolves with the record; throws the identity
 * package's typed errors, or InvalidDhtRecordError for a key/name mismatch or a private record.
 */
export async function verifyDhtRecord (key: Uint8Array, value: Uint8Array, options: AbortOptions & { now?: number } = {}): Promise<AuraIdRecord> {
  const name = nameOfKey(key)
  const record = await verifyRecord(value, options)
  if (record.name !== name) {
    throw new InvalidDhtRecordError(`the record names ${record.name} but is stored under /${AURAID_DHT_NAMESPACE}/${name}`)
  }
  if (record.visibility === 'private') {
    throw new InvalidDhtRecordError(`the record for ${name} is private: private records never enter the DHT`)
  }
  return record
}

/**
 * libp2p Kad-DHT validator for `/auraid/` keys (`validators: { auraid: auraIdDhtValidator }`):
 * throws unless `verifyDhtRecord` accepts. It checks the record only; a relay's DHT node uses
 * `auraIdDhtPolicy(...).validator`, which also decides who may store what (docs/dht.md).
 */
export async function auraIdDhtValidator (key: Uint8Array, value: Uint8Array, options?: AbortOptions): Promise<void> {
  await verifyDhtRecord(key, value, options)
}

/**
 * Orders two verified records for one name, best first: the higher sequence, then the later
 * validity (the foundation's rule, `selectRecord`), then, so that every node picks the same one,
 * the smaller record bytes (unsigned, byte by byte, then the shorter). Negative when `a` is better.
 */
export function compareAuraIdRecords (a: Pick<AuraIdRecord, 'sequence' | 'validity' | 'bytes'>, b: Pick<AuraIdRecord, 'sequence' | 'validity' | 'bytes'>): number {
  if (a.sequence !== b.sequence || a.validity !== b.validity) return selectRecord(a, b) === 0 ? -1 : 1
  const n = Math.min(a.bytes.byteLength, b.bytes.byteLength)
  for (let i = 0; i < n; i++) if (a.bytes[i] !== b.bytes[i]) return a.bytes[i]! - b.bytes[i]!
  return a.bytes.byteLength - b.bytes.byteLength
}

/**
 * libp2p Kad-DHT selector for `/auraid/` keys (`selectors: { auraid: auraIdDhtSelector }`): the
 * index of the best record by `compareAuraIdRecords`. Values that do not verify for the key
 * (the DHT validates them before, so this is a second line) are never chosen while one does;
 * when none does, 0.
 */
export async function auraIdDhtSelector (key: Uint8Array, records: Uint8Array[]): Promise<number> {
  let best: { index: number, record: AuraIdRecord } | undefined
  for (const [index, value] of records.entries()) {
    let record: AuraIdRecord
    try {
      record = await verifyDhtRecord(key, value)
    } catch {
      continue
    }
    if (best === undefined || compareAuraIdRecords(record, best.record) < 0) best = { index, record }
  }
  return best?.index ?? 0
}

/** One DHT node's answer to a lookup: the value it stores for the name. */
export interface AuraIdNetworkAnswer {
  /** The node that answered: its PeerId as a string. */
  from: string
  /** True for this node's own store (counted like any other node, once). */
  self?: boolean
  value: Uint8Array
}

/**
 * Where a directory publishes and looks up records beyond itself. `dhtNetwork()` makes one over
 * a libp2p Kad-DHT; tests pass fakes. Values are the signed record bytes; the directory verifies
 * every answer again and chooses between them by majority (`chooseByMajority`, docs/dht.md).
 */
export interface AuraIdNetwork {
  /** Stores `record` (public or unlisted) under its name. Resolves with how many remote nodes took it. */
  publish(name: string, record: Uint8Array, options?: AbortOptions): Promise<{ peers: number }>
  /**
   * What the network's nodes hold for `name`: one answer per node that holds a value (this
   * node's own store included, marked `self`); [] when none does. Throws NetworkLookupError
   * when the lookup fails.
   */
  lookup(name: string, options?: AbortOptions): Promise<AuraIdNetworkAnswer[]>
  /**
   * Stores `record` in this node's own DHT store only (nothing is sent): the directory calls it
   * with the record that won a conflict, so this node answers what the network chose. Optional.
   */
  adopt?(name: string, record: Uint8Array, options?: AbortOptions): Promise<void>
}

/** The part of a libp2p Kad-DHT (`@libp2p/kad-dht`'s `KadDHT`) that `dhtNetwork()` uses. */
export interface AuraIdDht {
  /** Stores `value` under `key` at the closest DHT nodes, yielding kad-dht's query events. */
  put(key: Uint8Array, value: Uint8Array, options?: AbortOptions): AsyncIterable<{ name: string, messageName?: string }>
  /** FINAL_PEER events carry `peer: { id }`, the K closest nodes; other events are passed over. */
  getClosestPeers(key: Uint8Array, options?: AbortOptions): AsyncIterable<{ name: string, peer?: PeerId | { id: PeerId } }>
}

/** Options of `dhtNetwork()`. */
export interface DhtNetworkInit {
  /**
   * Asks one DHT node for the value it stores under `key` (a GET_VALUE); undefined when it has
   * none. The relay node's `dhtGuard` sends it on the DHT's protocol.
   */
  getValue(peer: PeerId, key: Uint8Array, options: AbortOptions): Promise<Uint8Array | undefined>
  /** This node's own store: its answer to a lookup, and where `adopt` writes. @default none */
  records?: DhtLocalRecords
  /** Whose answers count (the relay passes "is a relay"); others are not asked. @default every node */
  counts?: (peer: PeerId) => boolean
  /** A lookup gives up after this (NetworkLookupError). @default 5_000 */
  lookupTimeoutMs?: number
  /** A publish gives up after this (NetworkPublishError). @default 15_000 */
  publishTimeoutMs?: number
}

/**
 * An `AuraIdNetwork` over a libp2p Kad-DHT whose `auraid` validator is `auraIdDhtValidator` (or
 * a write policy's, `auraIdDhtPolicy`): `publish` is `dht.put`; `lookup` walks to the K nodes
 * closest to the name (`getClosestPeers`), asks each that `counts` for its value (`getValue`),
 * and adds this node's own stored value: one answer per node, no correction sent to anyone
 * (kad-dht's `get()` would push its selector's pick to every node that holds another record).
 * Each call is bounded by its timeout and the caller's signal.
 */
export function dhtNetwork (dht: AuraIdDht, init: DhtNetworkInit): AuraIdNetwork {
  if (dht == null || typeof dht.getClosestPeers !== 'function' || typeof dht.put !== 'function') {
    throw new TypeError(`dhtNetwork: dht must have getClosestPeers() and put(), got ${dht === null ? 'null' : typeof dht}`)
  }
  if (typeof init?.getValue !== 'function') throw new TypeError(`dhtNetwork: init.getValue must be a function, got ${typeof init?.getValue}`)
  for (const k of ['lookupTimeoutMs', 'publishTimeoutMs'] as const) {
    const v = init[k]
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)) {
      throw new RangeError(`dhtNetwork: ${k} must be a number > 0, got ${String(v)}`)
    }
  }
  const lookupMs = init.lookupTimeoutMs ?? DEFAULT_NETWORK_LOOKUP_TIMEOUT_MS
  const publishMs = init.publishTimeoutMs ?? DEFAULT_NETWORK_PUBLISH_TIMEOUT_MS
  const counts = init.counts ?? (() => true)
  const bounded = (ms: number, options: AbortOptions): AbortSignal =>
    options.signal != null ? AbortSignal.any([options.signal, AbortSignal.timeout(ms)]) : AbortSignal.timeout(ms)
  return {
    async publish (name, record, options = {}) {
      const signal = bounded(publishMs, options)
      let peers = 0
      try {
        for await (const event of dht.put(auraIdDhtKey(name), record, { signal })) {
          // the closest-peers walk answers FIND_NODE too; only PUT_VALUE answers are stores
          if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') peers++
        }
      } catch (err) {
        options.signal?.throwIfAborted()
        throw new NetworkPublishError(`publishing ${name} to the DHT failed${signal.aborted ? ` (no end within ${publishMs} ms)` : ''}: ${(err as Error).message}`, { cause: err })
      }
      return { peers }
    },
    async lookup (name, options = {}) {
      const signal = bounded(lookupMs, options)
      const key = auraIdDhtKey(name)
      const answers: AuraIdNetworkAnswer[] = []
      try {
        const local = await init.records?.get(key, { signal })
        if (local !== undefined && local.receivedAt + DHT_RECORD_MAX_AGE_MS > Date.now()) answers.push({ from: 'self', self: true, value: local.value })
        const asked = new Set<string>()
        const asks: Array<Promise<void>> = []
        for await (const event of dht.getClosestPeers(key, { signal })) {
          if (event.name !== 'FINAL_PEER' || event.peer == null || !('id' in event.peer)) continue
          const peer = event.peer.id
          if (peer == null || asked.has(peer.toString()) || !counts(peer)) continue
          asked.add(peer.toString())
          // a node that does not answer (in time) does not count
          asks.push(init.getValue(peer, key, { signal }).then((value) => {
            if (value !== undefined) answers.push({ from: peer.toString(), value })
          }, () => {}))
        }
        await Promise.all(asks)
      } catch (err) {
        options.signal?.throwIfAborted()
        throw new NetworkLookupError(`looking up ${name} in the DHT failed${signal.aborted ? ` (no answer within ${lookupMs} ms)` : ''}: ${(err as Error).message}`, { cause: err })
      }
      return answers
    },
    ...(init.records !== undefined
      ? { adopt: async (name: string, record: Uint8Array, options: AbortOptions = {}) => { await init.records!.put(auraIdDhtKey(name), record, options) } }
      : {})
  }
}
