import { upstreamErrorKind } from '@auralink/core'
import { AURAID_SKELETON_VERSION, auraIdSkeleton, verifyRecord } from '@auralink/identity'
import { Key } from 'interface-datastore'
import type { AuraIdRecord } from '@auralink/identity'
import type { AbortOptions, Logger } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

/**
 * The directory's datastore layout (docs/directory.md):
 *
 *   /auraid/name/<name>                 the signed record bytes as registered
 *   /auraid/key/<peerId>/<name>         empty: the names a key holds (the per-key cap)
 *   /auraid/skeleton/<skeleton>/<name>  empty: names by look-alike skeleton
 *   /auraid/public/<name>               the record's validity (uint64, big-endian): public records only (search)
 *   /auraid/unregistered/<name>         the last accepted unregister timestamp (uint64, big-endian)
 *   /auraid/withdrawn/<name>            the signed record last unregistered (so that copies of it
 *                                       still in the DHT are not answered nor held against others)
 *   /auraid/since/<name>                when its key first registered the name here (uint64 ms): kept
 *                                       on update, deleted with the name (how old a name is: `heldSince`)
 *   /auraid/meta/layout                 one byte: the layout version (2)
 *   /auraid/meta/skeleton-version       one byte: the auraIdSkeleton rule the skeleton index was
 *                                       built with (AURAID_SKELETON_VERSION; absent: rule 1)
 *
 * Names (`@x.aura`), skeletons and PeerIds use only [a-zA-Z0-9@._-], so they are safe key
 * segments. Every write touches its keys in one batch.
 */
const NAME = '/auraid/name'
const BY_KEY = '/auraid/key'
const BY_SKELETON = '/auraid/skeleton'
const PUBLIC = '/auraid/public'
const UNREGISTERED = '/auraid/unregistered'
const WITHDRAWN = '/auraid/withdrawn'
const HELD_SINCE = '/auraid/since'
const LAYOUT = new Key('/auraid/meta/layout')
/** Version 1 had no /auraid/public index; opening a version 1 store builds it. */
const LAYOUT_VERSION = 2
const SKELETON_VERSION = new Key('/auraid/meta/skeleton-version')

/**
 * Whether `record` is a copy of what its key withdrew (the record last unregistered for its name,
 * `withdrawn`) or of an older record of that key: same key, and newer neither by sequence nor by
 * validity. A record the holder signs after unregistering is valid until later, so it is not one.
 */
export function isWithdrawnCopy (record: AuraIdRecord, withdrawn: AuraIdRecord | undefined): boolean {
  return withdrawn !== undefined && withdrawn.peerId.equals(record.peerId) &&
    record.sequence <= withdrawn.sequence && record.validity <= withdrawn.validity
}

export class DirectoryStore {
  private readonly ds: Datastore
  private readonly log: Logger

  constructor (ds: Datastore, log: Logger) {
    this.ds = ds
    this.log = log
  }

  /**
   * Brings an older layout up to date (today: builds the public index that layout 1 lacked, and
   * rebuilds the skeleton index written under another skeleton rule). Cheap when the layout is
   * current: two reads.
   */
  async open (options?: AbortOptions): Promise<void> {
    await this.reindexSkeletons(options)
    const version = await this.getBytes(LAYOUT, options)
    if (version?.[0] === LAYOUT_VERSION) return
    const batch = this.ds.batch()
    let indexed = 0
    for await (const { key, value } of this.ds.query({ prefix: `${NAME}/` }, options)) {
      const record = await this.decode(key.baseNamespace(), value, options)
      if (record?.visibility === 'public') {
        batch.put(new Key(`${PUBLIC}/${record.name}`), u64(record.validity))
        indexed++
      }
    }
    batch.put(LAYOUT, Uint8Array.of(LAYOUT_VERSION))
    await batch.commit(options)
    this.log('directory store at layout %d (%d public records indexed)', LAYOUT_VERSION, indexed)
  }

  /**
   * When the skeleton index was written under another rule than this build's `auraIdSkeleton`
   * (`AURAID_SKELETON_VERSION`; no version stored means rule 1), rebuilds it in one batch: every
   * stored name is indexed under its skeleton now, every other `/auraid/skeleton/` entry is
   * deleted. No record is touched: names of two keys that the new rule finds alike both stay
   * held, and only new registrations of look-alikes are refused. Resolves to the number of names
   * indexed (0 when the index was current).
   */
  async reindexSkeletons (options?: AbortOptions): Promise<number> {
    const version = await this.getBytes(SKELETON_VERSION, options)
    if (version?.[0] === AURAID_SKELETON_VERSION) return 0
    const wanted = new Set<string>()
    for await (const key of this.ds.queryKeys({ prefix: `${NAME}/` }, options)) {
      const name = key.baseNamespace()
      try {
        wanted.add(new Key(`${BY_SKELETON}/${auraIdSkeleton(name)}/${name}`).toString())
      } catch (err) {
        this.log.error('stored name %s has no skeleton, not indexed: %s', name, (err as Error).message)
      }
    }
    const indexed = wanted.size
    const batch = this.ds.batch()
    let removed = 0
    for await (const key of this.ds.queryKeys({ prefix: `${BY_SKELETON}/` }, options)) {
      // entries already right stay as they are (a batch applies its puts before its deletes)
      if (wanted.delete(key.toString())) continue
      batch.delete(key)
      removed++
    }
    for (const key of wanted) batch.put(new Key(key), new Uint8Array(0))
    batch.put(SKELETON_VERSION, Uint8Array.of(AURAID_SKELETON_VERSION))
    await batch.commit(options)
    this.log('skeleton index rebuilt for rule %d (was %s): %d names indexed, %d old entries removed',
      AURAID_SKELETON_VERSION, version?.[0] ?? 1, indexed, removed)
    return indexed
  }

  /** The stored record for `name`, re-verified (expired ones included), or undefined. */
  async get (name: string, options?: AbortOptions): Promise<AuraIdRecord | undefined> {
    const bytes = await this.getBytes(new Key(`${NAME}/${name}`), options)
    if (bytes === undefined) return undefined
    return this.decode(name, bytes, options)
  }

  /** Verifies stored bytes again; anything that does not verify is logged and treated as absent. */
  private async decode (name: string, bytes: Uint8Array, options?: AbortOptions): Promise<AuraIdRecord | undefined> {
    try {
      const record = await verifyRecord(bytes, { ...options, allowExpired: true })
      if (record.name !== name) throw new Error(`stored under ${name} but names ${record.name}`)
      return record
    } catch (err) {
      options?.signal?.throwIfAborted()
      this.log.error('stored record for %s does not verify, treating it as absent: %s', name, (err as Error).message)
      return undefined
    }
  }

  /**
   * Stores `record`, replacing `previous` (the record held for the same name, if any). With
   * `options.firstRegisteredAt` (a registration, not an update of a name its key holds), that is
   * the name's new `heldSince`; without it the entry is kept when `previous` is of the same key.
   */
  async put (record: AuraIdRecord, skeleton: string, previous: AuraIdRecord | undefined, options?: AbortOptions & { firstRegisteredAt?: number }): Promise<void> {
    const batch = this.ds.batch()
    const since = new Key(`${HELD_SINCE}/${record.name}`)
    if (options?.firstRegisteredAt !== undefined) batch.put(since, u64(options.firstRegisteredAt))
    else if (previous === undefined || !previous.peerId.equals(record.peerId)) batch.delete(since)
    if (previous !== undefined && !previous.peerId.equals(record.peerId)) {
      batch.delete(new Key(`${BY_KEY}/${previous.peerId.toString()}/${previous.name}`))
    }
    batch.put(new Key(`${NAME}/${record.name}`), record.bytes)
    batch.put(new Key(`${BY_KEY}/${record.peerId.toString()}/${record.name}`), new Uint8Array(0))
    batch.put(new Key(`${BY_SKELETON}/${skeleton}/${record.name}`), new Uint8Array(0))
    if (record.visibility === 'public') {
      batch.put(new Key(`${PUBLIC}/${record.name}`), u64(record.validity))
    } else {
      batch.delete(new Key(`${PUBLIC}/${record.name}`))
    }
    await batch.commit(options)
  }

  /** Deletes `record` and its index entries; with `unregisteredAt`, remembers that timestamp and the record (withdrawn). */
  async delete (record: AuraIdRecord, skeleton: string, unregisteredAt?: number, options?: AbortOptions): Promise<void> {
    const batch = this.ds.batch()
    batch.delete(new Key(`${NAME}/${record.name}`))
    batch.delete(new Key(`${BY_KEY}/${record.peerId.toString()}/${record.name}`))
    batch.delete(new Key(`${BY_SKELETON}/${skeleton}/${record.name}`))
    batch.delete(new Key(`${PUBLIC}/${record.name}`))
    batch.delete(new Key(`${HELD_SINCE}/${record.name}`))
    if (unregisteredAt !== undefined) {
      batch.put(new Key(`${UNREGISTERED}/${record.name}`), u64(unregisteredAt))
      batch.put(new Key(`${WITHDRAWN}/${record.name}`), record.bytes)
    }
    await batch.commit(options)
  }

  /** The timestamp of the last unregister proof accepted for `name`, or 0. */
  async lastUnregister (name: string, options?: AbortOptions): Promise<number> {
    const bytes = await this.getBytes(new Key(`${UNREGISTERED}/${name}`), options)
    return bytes === undefined ? 0 : readU64(bytes) ?? 0
  }

  /**
   * When the key holding `name` first registered it here (ms). A name stored before this entry
   * existed (an older store) has none: the first call records `now` for it, so such a name counts
   * as registered when first asked about, never earlier than the truth (the record's own fields
   * are chosen by its signer, so they cannot date it).
   */
  async heldSince (name: string, now: number, options?: AbortOptions): Promise<number> {
    const key = new Key(`${HELD_SINCE}/${name}`)
    const since = readU64(await this.getBytes(key, options) ?? new Uint8Array(0))
    if (since !== undefined) return since
    await this.ds.put(key, u64(now), options)
    return now
  }

  /** The record last unregistered for `name` (re-verified, expired allowed), or undefined. */
  async withdrawn (name: string, options?: AbortOptions): Promise<AuraIdRecord | undefined> {
    const bytes = await this.getBytes(new Key(`${WITHDRAWN}/${name}`), options)
    return bytes === undefined ? undefined : this.decode(name, bytes, options)
  }

  /** Every name stored (bound or not), in key order. */
  async allNames (options?: AbortOptions): Promise<string[]> {
    return this.names(`${NAME}/`, options)
  }

  /** Names indexed under the key with this PeerId (the caller checks each still belongs to it). */
  async namesOf (peerId: string, options?: AbortOptions): Promise<string[]> {
    return this.names(`${BY_KEY}/${peerId}/`, options)
  }

  /** Names indexed under a look-alike skeleton. */
  async namesWithSkeleton (skeleton: string, options?: AbortOptions): Promise<string[]> {
    return this.names(`${BY_SKELETON}/${skeleton}/`, options)
  }

  /**
   * Public records whose names start with `prefix` and whose validity ends after `now`, in
   * name order, at most `max`. One prefix scan of the public index (8-byte values), keeping
   * the first `2 * max` names by order; only those records are read and verified.
   */
  async searchPublic (prefix: string, now: number, max: number, options?: AbortOptions): Promise<AuraIdRecord[]> {
    if (max <= 0) return []
    const keep = max * 2
    const best: string[] = []
    for await (const { key, value } of this.ds.query({ prefix: `${PUBLIC}/${prefix}` }, options)) {
      const validity = readU64(value)
      if (validity === undefined || validity <= now) continue
      const name = key.baseNamespace()
      if (best.length >= keep && name >= best[best.length - 1]!) continue
      best.splice(sortedIndex(best, name), 0, name)
      if (best.length > keep) best.pop()
    }
    const out: AuraIdRecord[] = []
    for (const name of best) {
      const record = await this.get(name, options)
      if (record === undefined || record.visibility !== 'public' || record.validity <= now) continue
      out.push(record)
      if (out.length >= max) break
    }
    return out
  }

  /** Number of names stored (bound or not yet reclaimed). */
  async count (options?: AbortOptions): Promise<number> {
    let n = 0
    for await (const _ of this.ds.queryKeys({ prefix: `${NAME}/` }, options)) n++
    return n
  }

  private async names (prefix: string, options?: AbortOptions): Promise<string[]> {
    const names: string[] = []
    for await (const key of this.ds.queryKeys({ prefix }, options)) names.push(key.baseNamespace())
    return names
  }

  private async getBytes (key: Key, options?: AbortOptions): Promise<Uint8Array | undefined> {
    try {
      return await this.ds.get(key, options)
    } catch (err) {
      if (upstreamErrorKind(err) === 'not-found') return undefined
      throw err
    }
  }
}

function u64 (n: number): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(Math.max(0, Math.trunc(n))))
  return out
}

function readU64 (bytes: Uint8Array): number | undefined {
  if (bytes.byteLength !== 8) return undefined
  return Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0))
}

/** Where `name` goes in the ascending array `sorted`. */
function sortedIndex (sorted: string[], name: string): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (sorted[mid]! < name) lo = mid + 1
    else hi = mid
  }
  return lo
}
