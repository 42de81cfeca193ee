/**
 * The recordings a client took part in, from a relay's HTTP port (docs/recording.md "Playback"):
 * each request signed with the client's identity key (`signRecordingAccess()`), for that relay
 * and that recording, valid a few minutes. `url(id)` gives a URL a `<video src>` plays directly
 * (byte ranges: seeking works); `list()` the recordings, newest first.
 */
import { RecordingFailedError } from '@auralink/core'
import { signRecordingAccess } from '@auralink/identity'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId, PrivateKey } from '@libp2p/interface'

/** One recording, as a relay lists it to a participant. */
export interface RecordedCall {
  /** The recording's id: what `url()` takes. */
  id: string
  callId: string
  /** 'complete' (playable unless `encrypted`), 'recording' (under way) or 'failed'. */
  status: 'recording' | 'complete' | 'failed'
  /** Every participant's PeerId. */
  participants: string[]
  /** ISO 8601, the relay's clock. */
  startedAt: string
  endedAt: string | null
  bytes: number
  /** Encrypted at rest: the relay cannot serve it; its operator decrypts it. */
  encrypted: boolean
}

/** A relay's recordings as this client may see them: `client.recordings(httpUrl)`. */
export interface RelayRecordings {
  /** The recordings this client took part in, newest first (at most 100). */
  list(): Promise<RecordedCall[]>
  /** A signed URL for recording `id` (valid `ttlMs`, at most 10 minutes; 5 by default): a `<video src>` plays it. */
  url(id: string, options?: { ttlMs?: number }): Promise<string>
}

/** @internal */
export function relayRecordings (httpUrl: string, key: PrivateKey, fetcher: typeof fetch = globalThis.fetch.bind(globalThis)): RelayRecordings {
  let base: URL
  try {
    base = new URL(httpUrl)
  } catch (err) {
    throw new TypeError(`recordings(httpUrl): ${JSON.stringify(String(httpUrl).slice(0, 80))} is not a URL (the relay's HTTP port, e.g. http://127.0.0.1:4002)`, { cause: err })
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new TypeError(`recordings(httpUrl): ${base.protocol} is not http: or https:`)
  const root = base.href.replace(/\/+$/, '')
  let relay: Promise<PeerId> | undefined
  // the relay's PeerId (what the signatures name), from its /healthz
  const relayId = async (): Promise<PeerId> => (relay ??= (async () => {
    const res = await fetcher(`${root}/healthz`, { signal: AbortSignal.timeout(10_000) }).catch((err: Error) => {
      throw new RecordingFailedError('unreachable', `the relay's HTTP port ${root} could not be reached: ${err.message}`, { cause: err })
    })
    const body = await res.json().catch(() => ({})) as { peerId?: unknown }
    if (typeof body.peerId !== 'string') throw new RecordingFailedError('unreachable', `${root}/healthz did not name the relay's peer id (HTTP ${res.status})`)
    return peerIdFromString(body.peerId)
  })().catch((err: unknown) => { relay = undefined; throw err }))
  const signed = async (id: string, ttlMs?: number): Promise<string> => {
    const access = await signRecordingAccess(key, { relay: await relayId(), recordingId: id, ...(ttlMs !== undefined ? { ttlMs } : {}) })
    return `${root}/recordings${id === '' ? '' : `/${id}`}?${new URLSearchParams({ ...access }).toString()}`
  }
  return {
    async list () {
      const res = await fetcher(await signed(''), { signal: AbortSignal.timeout(10_000) })
      if (!res.ok) throw new RecordingFailedError('failed', `the relay refused the list (HTTP ${res.status}): ${(await res.text()).trim().slice(0, 256)}`)
      return ((await res.json()) as { recordings: RecordedCall[] }).recordings
    },
    async url (id, options = {}) {
      if (typeof id !== 'string' || !/^[0-9a-f]{32}$/.test(id)) throw new TypeError(`url(id): id must be a recording id (32 lowercase hex characters), got ${JSON.stringify(String(id).slice(0, 40))}`)
      return signed(id, options.ttlMs)
    }
  }
}
