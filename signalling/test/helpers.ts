import { generateIdentityKey, peerIdOf } from '@auralink/identity'
import { defaultLogger } from '@libp2p/logger'
import { MemoryDatastore } from 'datastore-core'
import { auraIdDirectory } from '../src/index.js'
import type { AuraIdDirectory, AuraIdDirectoryInit } from '../src/index.js'
import type { PeerId } from '@libp2p/interface'

export const T0 = 1_800_000_000_000

/** A directory on a memory datastore with a clock the test moves, and a registrar that records nothing. */
export function makeDirectory (init: Partial<AuraIdDirectoryInit> = {}): { dir: AuraIdDirectory, clock: { now: number }, datastore: MemoryDatastore } {
  const clock = { now: T0 }
  const datastore = new MemoryDatastore()
  const dir = auraIdDirectory({ datastore, now: () => clock.now, ...init })({
    registrar: { handle: async () => {}, unhandle: async () => {} },
    logger: defaultLogger()
  })
  return { dir, clock, datastore }
}

export async function somePeer (): Promise<PeerId> {
  return peerIdOf(await generateIdentityKey())
}

/** Everything the directory holds, as a comparable snapshot. */
export async function snapshot (datastore: MemoryDatastore): Promise<string[]> {
  const out: string[] = []
  for await (const { key, value } of datastore.query({})) out.push(`${key.toString()}=${Buffer.from(value).toString('hex')}`)
  return out.sort()
}
