import { createHash } from 'node:crypto'
import { encodeFileHeader } from '@auralink/protocol'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream, streamPair } from '@libp2p/utils'
import { Call } from '../src/call.js'
import { IncomingFiles } from '../src/file-receiver.js'
import { ClientImages } from '../src/images.js'
import { SignalChannel } from '../src/signal-channel.js'
import type { CallComponents } from '../src/call.js'
import type { FileRefusal, IncomingFilesInit } from '../src/file-receiver.js'
import type { ImagesInit } from '../src/images.js'
import type { PeerId, Stream } from '@libp2p/interface'

// What the file-limit tests share: real Calls (accepted data calls, on in-memory libp2p stream
// pairs: @libp2p/utils streamPair), the client's IncomingFiles with its limits, and an attacker
// that writes raw length-prefixed frames with forged FileHeaders.

export const log = Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false }) as never

export async function newPeer (): Promise<PeerId> { return peerIdFromPrivateKey(await generateKeyPair('Ed25519')) }

export const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest())

/** Polls `cond` every 20 ms for at most `ms`. */
export async function until (cond: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** True once a stream was reset or aborted (by either side). */
export const wasReset = (s: Stream): boolean => s.status === 'reset' || s.status === 'aborted'

export interface Harness {
  files: IncomingFiles
  refusals: FileRefusal[]
  /**
   * An accepted call with `peer`; `outgoing` collects the far ends of the file streams it opens
   * (sendFile), each also handed to `onStream` (e.g. another harness's `files.handle`). With
   * `maxMessageSize`, those streams send messages of at most that many bytes (libp2p's WebRTC
   * streams: 65529 with the mesh's 64 KiB data-channel messages); else the mock muxer's 4 MiB.
   */
  call(peer: PeerId, opts?: { callId?: string, onStream?: (far: Stream) => void, maxMessageSize?: number }): Promise<{ call: Call, outgoing: Stream[], remote: Stream }>
  /** Opens a file stream from `peer` to the client: returns the attacker's end. */
  open(peer: PeerId): Promise<{ stream: Stream, served: Promise<void> }>
  stop(): Promise<void>
}

export function harness (limits: Partial<IncomingFilesInit> = {}, images: ImagesInit = { learned: false }): Harness {
  const calls: Call[] = []
  const streams: Stream[] = []
  const refusals: FileRefusal[] = []
  const files = new IncomingFiles({
    maxFileBytes: 512 * 1024 * 1024,
    maxInMemoryBytes: 16 * 1024 * 1024,
    maxPerPeer: 4,
    maxTotal: 8,
    headerTimeoutMs: 10_000,
    ...limits
  }, {
    log,
    findCall: (callId, peer) => calls.find((c) => c.id === callId && c.remotePeer.equals(peer)),
    refused: (r) => {
      refusals.push(r)
      calls.find((c) => c.remotePeer.equals(r.peer))?.fileRefused(r)
    }
  })
  const components: CallComponents = {
    log,
    iceServers: [],
    heartbeat: { intervalMs: 60_000, reconnectingAfterMs: 120_000, vanishedAfterMs: 240_000 },
    reconnect: { timeoutMs: 30_000 },
    dial: async () => { throw new Error('no re-dials in these tests') },
    ringTimeoutMs: 60_000,
    getMedia: async () => undefined,
    forget: () => {},
    images: new ClientImages(images, log),
    aic: { mode: 'off', capabilityTimeoutMs: 15_000, tickMs: 1000, runtime: async () => { throw new Error('no AIC in these tests') }, loaded: () => false },
    recording: {
      key: undefined as never,
      self: undefined as never,
      relayAddrs: () => [],
      openRecordStream: async () => { throw new Error('no recording in these tests') }
    },
    groups: {
      upgrade: async () => { throw new Error('no group calls in these tests') },
      adopt: async () => undefined
    }
  }
  return {
    files,
    refusals,
    async call (peer, opts = {}) {
      const [theirs, ours] = await streamPair()
      streams.push(theirs, ours)
      const outgoing: Stream[] = []
      const connection = new EventTarget()
      const conn = {
        connection,
        remotePeer: peer,
        direct: true,
        path: 'direct',
        attempts: 0,
        newStream: async () => {
          const [out, far] = await streamPair()
          // the mock muxer takes no per-stream size; AbstractMessageStream reads the field at each send
          if (opts.maxMessageSize !== undefined) (out as Stream & { maxMessageSize?: number }).maxMessageSize = opts.maxMessageSize
          streams.push(out, far)
          outgoing.push(far)
          opts.onStream?.(far)
          return out
        },
        close: async () => {}
      }
      const callId = opts.callId ?? Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('')
      const call = new Call({ role: 'callee', callId, requested: { audio: false, video: false, data: true }, channel: new SignalChannel(ours, log), conn: conn as never }, components)
      calls.push(call)
      await call.accept()
      return { call, outgoing, remote: theirs }
    },
    async open (peer) {
      const [attacker, victim] = await streamPair()
      streams.push(attacker, victim)
      return { stream: attacker, served: files.handle(victim, peer) }
    },
    async stop () {
      files.stop()
      await Promise.allSettled(calls.map(async (c) => c.hangup()))
      for (const s of streams) s.abort(new Error('test over'))
    }
  }
}

/** Writes a forged FileHeader on `stream` (the attacker's end); returns the length-prefixed writer. */
export async function forgeHeader (stream: Stream, callId: string, offer: { name?: string, size: number, sha256?: Uint8Array, mimeType?: string, image?: boolean }): Promise<ReturnType<typeof lpStream>> {
  const lp = lpStream(stream)
  await lp.write(encodeFileHeader({ callId, offer: { fileId: 'f1', name: offer.name ?? 'x.bin', size: offer.size, mimeType: offer.mimeType ?? 'application/octet-stream', sha256: offer.sha256 ?? new Uint8Array(32), ...(offer.image === true ? { image: true } : {}) } }))
  return lp
}
