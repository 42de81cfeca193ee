import { verifyRecord } from '@auralink/identity'
import { Key } from 'interface-datastore'
import type { AuraIdRecord } from '@auralink/identity'
import type { AbortOptions, Logger } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

/**
 * The directory's datastore layout (docs/directory.md):
 *   /auraid/name/<name>                 the signed record bytes as registered
 *   /auraid/key/<peerId>/<name>         empty: which names a key holds (the per-key cap)
 *   /auraid/skeleton/<skeleton>/<name>  empty: names by look-alike skeleton
 *   /auraid/unregistered/<name>         the last accepted unregister timestamp (8 bytes, big-endian)
 * Names and skeletons use only [a-z0-9@._-], so they are safe key segments.
 */
const NAME = '/auraid/name'
const BY_KEY = '/auraid/key'
const BY_SKELETON = '/auraid/skeleton'
const UNREGISTERED = '/auraid/unregistered'

export class DirectoryStore {
  private readonly ds: Datastore
  private readonly log: Logger

  constructor (ds: Datastore, log: Logger) {
    this.ds = ds
    this.log = log
  }

  /** The stored record for `name`, re-verified (expired ones included), or undefined. */
  async get (name: string, options?: AbortOptions): Promise<AuraIdRecord | undefined> {
    const bytes = await this.getBytes(new Key(`${NAME}/${name}`), options)
    if (bytes === undefined) return undefined
    return this.decode(name, bytes, options)
  }

  private async decode (name: string, bytes: Uint8Array, options?: AbortOptions): Promise<AuraIdRecord | undefined> {
    try {
      const record = await verifyRecord(bytes, { ...options, allowExpired: true })
      if (record.name !== name) throw new Error(`stored under ${name} but names ${record.name}`)
      return record
    } catch (err) {
      this.log.error('stored record for %s does not verify, treating it as absent: %s', name, (err as Error).message)
      return undefined
    }
  }

  async put (record: AuraIdRecord, skeleton: string, previous: AuraIdRecord | undefined, previousSkeleton: string | undefined): Promise<void> {
    const batch = this.ds.batch()
    if (previous !== undefined && !previous.peerId.equals(record.peerId)) {
      batch.delete(new Key(`${BY_KEY}/${previous.peerId.toString()}/${previous.name}`))
    }
    if (previousSkeleton !== undefined && previousSkeleton !== skeleton) {
      batch.delete(new Key(`${BY_SKELETON}/${previousSkeleton}/${record.name}`))
    }
    batch.put(new Key(`${NAME}/${record.name}`), record.bytes)
    batch.put(new Key(`${BY_KEY}/${record.peerId.toString()}/${record.name}`), new Uint8Array(0))
    batch.put(new Key(`${BY_SKELETON}/${skeleton}/${record.name}`), new Uint8Array(0))
    await batch.commit()
  }

  async delete (record: AuraIdRecord, skeleton: string, unregisteredAt?: number): Promise<void> {
    const batch = this.ds.batch()
    batch.delete(new Key(`${NAME}/${record.name}`))
    batch.delete(new Key(`${BY_KEY}/${record.peerId.toString()}/${record.name}`))
    batch.delete(new Key(`${BY_SKELETON}/${skeleton}/${record.name}`))
    if (unregisteredAt !== undefined) {
      const ts = new Uint8Array(8)
      new DataView(ts.buffer).setBigUint64(0, BigInt(unregisteredAt))
      batch.put(new Key(`${UNREGISTERED}/${record.name}`), ts)
    }
    await batch.commit()
  }

  async lastUnregister (name: string, options?: AbortOptions): Promise<number> {
    const bytes = await this.getBytes(new Key(`${UNREGISTERED}/${name}`), options)
    return bytes?.byteLength === 8 ? Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0)) : 0
  }

  /** Names held by the key with this PeerId. */
  async namesOf (peerId: string, options?: AbortOptions): Promise<string[]> {
    const names: string[] = []
    for await (const key of this.ds.queryKeys({ prefix: `${BY_KEY}/${peerId}/` }, options)) {
      names.push(key.baseNamespace())
    }
    return names
  }

  /** Names sharing a look-alike skeleton. */
  async namesWithSkeleton (skeleton: string, options?: AbortOptions): Promise<string[]> {
    const names: string[] = []
    for await (const key of this.ds.queryKeys({ prefix: `${BY_SKELETON}/${skeleton}/` }, options)) {
      names.push(key.baseNamespace())
    }
    return names
  }

  /** Records whose names start with `prefix`, in name order, verified; stops after `scan` entries. */
  async * byPrefix (prefix: string, scan: number, options?: AbortOptions): AsyncGenerator<AuraIdRecord> {
    let seen = 0
    const entries: Array<{ name: string, value: Uint8Array }> = []
    for await (const { key, value } of this.ds.query({ prefix: `${NAME}/${prefix}` }, options)) {
      entries.push({ name: key.baseNamespace(), value })
      if (++seen >= scan) break
    }
    entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
    for (const { name, value } of entries) {
      const record = await this.decode(name, value, options)
      if (record !== undefined) yield record
    }
  }

  async count (options?: AbortOptions): Promise<number> {
    let n = 0
    for await (const _ of this.ds.queryKeys({ prefix: `${NAME}/` }, options)) n++
    return n
  }

  private async getBytes (key: Key, options?: AbortOptions): Promise<Uint8Array | undefined> {
    try {
      return await this.ds.get(key, options)
    } catch (err) {
      if ((err as Error).name === 'NotFoundError') return undefined
      throw err
    }
  }
}
