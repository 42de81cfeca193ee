import { createRecord, generateIdentityKey, peerIdOf } from '@auralink/identity'
import {
  decodeAuraIdRecord, decodeSignedAuraIdRecord, DirectoryOp, encodeAuraIdRecord, encodeSignedAuraIdRecord,
  RECORD_SIGNATURE_DOMAIN
} from '@auralink/protocol'
import { defaultLogger } from '@libp2p/logger'
import { MemoryDatastore } from 'datastore-core'
import { expect } from 'vitest'
import { auraIdDirectory } from '../src/index.js'
import type { AuraIdDirectory, AuraIdDirectoryInit } from '../src/index.js'
import type { CreateRecordInit, Ed25519PrivateKey } from '@auralink/identity'
import type { AuraIdRecordFields, DirectoryRequestMessage, DirectoryResponseFields } from '@auralink/protocol'
import type { PeerId, StreamHandler, StreamHandlerOptions } from '@libp2p/interface'

export const T0 = 1_800_000_000_000
export const DAY = 86_400_000

/** A registrar that records what the directory asks of it. */
export class FakeRegistrar {
  readonly handled = new Map<string, { handler: StreamHandler, options?: StreamHandlerOptions }>()
  handleCalls = 0
  unhandleCalls = 0

  async handle (protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void> {
    this.handleCalls++
    if (this.handled.has(protocol)) throw new Error(`${protocol} is already handled`)
    this.handled.set(protocol, { handler, ...(options !== undefined ? { options } : {}) })
  }

  async unhandle (protocol: string): Promise<void> {
    this.unhandleCalls++
    this.handled.delete(protocol)
  }
}

export interface Harness {
  dir: AuraIdDirectory
  /** The directory's clock; tests move `clock.now`. */
  clock: { now: number }
  datastore: MemoryDatastore
  registrar: FakeRegistrar
}

/** A directory on a memory datastore, with a clock the test moves and a fake registrar. */
export function makeDirectory (init: Partial<AuraIdDirectoryInit> = {}): Harness {
  const clock = { now: T0 }
  const datastore = new MemoryDatastore()
  const registrar = new FakeRegistrar()
  const dir = auraIdDirectory({ datastore, now: () => clock.now, ...init })({ registrar, logger: defaultLogger() })
  return { dir, clock, datastore, registrar }
}

export async function somePeer (): Promise<PeerId> {
  return peerIdOf(await generateIdentityKey())
}

/** Request builders: `ops(dir, from).register(bytes)` and so on. */
export function ops (dir: AuraIdDirectory, from: PeerId): {
  register: (record: Uint8Array) => Promise<DirectoryResponseFields>
  update: (record: Uint8Array) => Promise<DirectoryResponseFields>
  resolve: (name: string) => Promise<DirectoryResponseFields>
  search: (prefix: string, limit?: number) => Promise<DirectoryResponseFields>
  unregister: (proof: Uint8Array) => Promise<DirectoryResponseFields>
} {
  const send = async (fields: Partial<DirectoryRequestMessage>): Promise<DirectoryResponseFields> =>
    dir.handle(from, { op: 0, record: new Uint8Array(0), name: '', prefix: '', limit: 0, unregister: new Uint8Array(0), ...fields } as DirectoryRequestMessage)
  return {
    register: async (record) => send({ op: DirectoryOp.DIRECTORY_OP_REGISTER, record }),
    update: async (record) => send({ op: DirectoryOp.DIRECTORY_OP_UPDATE, record }),
    resolve: async (name) => send({ op: DirectoryOp.DIRECTORY_OP_RESOLVE, name }),
    search: async (prefix, limit = 0) => send({ op: DirectoryOp.DIRECTORY_OP_SEARCH, prefix, limit }),
    unregister: async (unregister) => send({ op: DirectoryOp.DIRECTORY_OP_UNREGISTER, unregister })
  }
}

/** A signed record's bytes, made at the harness clock. */
export async function record (key: Ed25519PrivateKey, name: string, now: number, extra: Partial<Omit<CreateRecordInit, 'name'>> = {}): Promise<Uint8Array> {
  return (await createRecord(key, { name, now, ...extra })).bytes
}

/**
 * A record with any fields, correctly signed by `key`: what a client that skips
 * createRecord's checks could send (a name that breaks a rule, a sequence of 0, ...).
 */
export async function signedRecord (key: Ed25519PrivateKey, now: number, fields: Partial<AuraIdRecordFields>): Promise<Uint8Array> {
  const base = decodeAuraIdRecord(decodeSignedAuraIdRecord(await record(key, '@template.aura', now)).payload)
  const payload = encodeAuraIdRecord({
    name: base.name, publicKey: base.publicKey, sequence: base.sequence, validity: base.validity, ttl: base.ttl, visibility: base.visibility, ...fields
  })
  const domain = new TextEncoder().encode(RECORD_SIGNATURE_DOMAIN)
  const signature = await key.sign(Uint8Array.from([...domain, ...payload]))
  return encodeSignedAuraIdRecord({ payload, signature })
}

/** Everything the datastore holds, as a comparable snapshot. */
export async function snapshot (datastore: MemoryDatastore): Promise<string[]> {
  const out: string[] = []
  for await (const { key, value } of datastore.query({})) out.push(`${key.toString()}=${Buffer.from(value).toString('hex')}`)
  return out.sort()
}

/** The state a refusal must leave alone: size(), every held record's bytes, the whole datastore. */
async function state (h: Harness): Promise<{ size: number, held: Record<string, string | undefined>, store: string[] }> {
  const store = await snapshot(h.datastore)
  const held: Record<string, string | undefined> = {}
  for (const entry of store) {
    const m = /^\/auraid\/name\/([^=]+)=/.exec(entry)
    if (m !== null) {
      const r = await h.dir.get(m[1]!)
      held[m[1]!] = r === undefined ? undefined : Buffer.from(r.bytes).toString('hex')
    }
  }
  return { size: await h.dir.size(), held, store }
}

/** Runs `fn`, expects the response to carry `code`, and checks the directory did not change. */
export async function expectRefusedUnchanged (h: Harness, code: number, fn: () => Promise<DirectoryResponseFields>): Promise<DirectoryResponseFields> {
  const before = await state(h)
  const res = await fn()
  expect(res.error, res.message ?? '').toBe(code)
  expect(res.records ?? []).toEqual([])
  expect(await state(h)).toEqual(before)
  return res
}

export function hex (bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : Buffer.from(bytes).toString('hex')
}
