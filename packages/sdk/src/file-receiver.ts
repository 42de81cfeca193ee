import { upstreamErrorKind } from '@auralink/core'
import {
  DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_IN_MEMORY_FILE_BYTES, DEFAULT_MAX_INCOMING_FILES, DEFAULT_MAX_INCOMING_FILES_PER_PEER, FILE_HEADER_TIMEOUT_MS
} from './constants.js'
import { FileTransferError, InvalidStateError } from './errors.js'
import { sanitizeFileName, sanitizeMimeType } from './file-names.js'
import { FileTransfer, readFileHeader, receiveFileBody, refuseFileStream, tooLarge } from './file-transfer.js'
import type { Logger, PeerId, Stream } from '@libp2p/interface'

// Incoming /auralink/file/1.0.0 streams, for the whole client: what a peer in a call can make
// this client hold. Streams are counted from the moment they open (before their header), per
// peer and in all; a header must come within headerTimeoutMs; a file over maxFileBytes is refused
// on its header; one over maxInMemoryBytes needs a sink (transfer.receiveTo()); memory grows only
// as bytes arrive (file-transfer.ts receiveFileBody).

/** Why an incoming file stream was refused. */
export type FileRefusalReason = 'too-many-transfers' | 'too-large' | 'no-such-call' | 'bad-header'

/** An incoming file stream this client refused (the `file:refused` event of the client and of the call). */
export interface FileRefusal {
  /** The peer that opened the stream. */
  peer: PeerId
  reason: FileRefusalReason
  /** What was wrong, with the figures. */
  message: string
  /** The call the stream named, once its header was read. */
  callId?: string
  /** The file's sanitised name and announced size, once its header was read. */
  name?: string
  size?: number
  /** The cap it hit ('too-many-transfers', 'too-large'). */
  limit?: number
}

/** @internal what IncomingFiles needs of a call */
export interface FileCall {
  /** Hands the transfer to the app (the `file` event); false when the call is not live. */
  announceFile(transfer: FileTransfer): boolean
}

/** @internal */
export interface IncomingFilesComponents {
  log: Logger
  /** The call `callId` with `peer`, if there is one. */
  findCall(callId: string, peer: PeerId): FileCall | undefined
  /** A stream was refused: tell the app. */
  refused(refusal: FileRefusal): void
}

/** What a peer in a call can make this client hold for incoming files (AuraLinkInit `files`). */
export interface FilesInit {
  /**
   * Incoming files up to this size are kept in memory and handed over as a Blob; a larger one
   * needs a sink (`transfer.receiveTo()` in the call's `file` listener) or is refused with
   * FileTooLargeError. `maxFileBytes` caps both.
   * @default 16777216 (16 MiB)
   */
  maxInMemoryBytes?: number
  /** Incoming transfers at once from one peer (on its call), streams still before their header included; more are reset (`file:refused`). @default 4 */
  maxIncomingPerPeer?: number
  /** Incoming transfers at once across all calls; more are reset (`file:refused`). @default 8 */
  maxIncoming?: number
}

/** @internal checks and resolves `maxFileBytes` and `files` of AuraLinkInit */
export function fileLimits (maxFileBytes: number | undefined, files: FilesInit | undefined): IncomingFilesInit {
  if (files !== undefined && (files === null || typeof files !== 'object')) throw new TypeError(`AuraLink.create(init): init.files must be an object, got ${files === null ? 'null' : typeof files}`)
  const count = (v: number | undefined, what: string, d: number, min: number): number => {
    if (v === undefined) return d
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new RangeError(`AuraLink.create(init): init.${what} must be a whole number from ${min}, got ${String(v)}`)
    return v
  }
  return {
    maxFileBytes: count(maxFileBytes, 'maxFileBytes', DEFAULT_MAX_FILE_BYTES, 0),
    maxInMemoryBytes: count(files?.maxInMemoryBytes, 'files.maxInMemoryBytes', DEFAULT_MAX_IN_MEMORY_FILE_BYTES, 0),
    maxPerPeer: count(files?.maxIncomingPerPeer, 'files.maxIncomingPerPeer', DEFAULT_MAX_INCOMING_FILES_PER_PEER, 1),
    maxTotal: count(files?.maxIncoming, 'files.maxIncoming', DEFAULT_MAX_INCOMING_FILES, 1),
    headerTimeoutMs: FILE_HEADER_TIMEOUT_MS
  }
}

/** @internal resolved limits (AuraLinkInit `maxFileBytes` and `files`) */
export interface IncomingFilesInit {
  maxFileBytes: number
  maxInMemoryBytes: number
  maxPerPeer: number
  maxTotal: number
  headerTimeoutMs: number
}

/** @internal serves the client's incoming file streams within its limits */
export class IncomingFiles {
  private readonly byPeer = new Map<string, number>()
  private readonly streams = new Set<Stream>()
  private readonly lifetime = new AbortController()

  constructor (private readonly init: IncomingFilesInit, private readonly c: IncomingFilesComponents) {}

  /** Incoming file streams open now, those still before their header included. */
  get open (): number { return this.streams.size }

  /** Serves one incoming file stream from `peer`, or resets it when a limit is reached. */
  async handle (stream: Stream, peer: PeerId): Promise<void> {
    if (this.lifetime.signal.aborted) { stream.abort(new InvalidStateError('the client stopped')); return }
    const key = peer.toString()
    const mine = this.byPeer.get(key) ?? 0
    const { maxPerPeer, maxTotal } = this.init
    if (mine >= maxPerPeer || this.streams.size >= maxTotal) {
      const [message, limit] = mine >= maxPerPeer
        ? [`${mine} incoming transfers from this peer at once already: the limit is ${maxPerPeer}`, maxPerPeer]
        : [`${this.streams.size} incoming transfers at once already: the limit is ${maxTotal}`, maxTotal]
      this.c.log('resetting a file stream from %p: %s', peer, message)
      stream.abort(new FileTransferError(message))
      this.c.refused({ peer, reason: 'too-many-transfers', message, limit })
      return
    }
    this.streams.add(stream)
    this.byPeer.set(key, mine + 1)
    try {
      await this.serve(stream, peer)
    } finally {
      this.streams.delete(stream)
      const left = (this.byPeer.get(key) ?? 1) - 1
      if (left > 0) this.byPeer.set(key, left)
      else this.byPeer.delete(key)
    }
  }

  /** Resets every incoming file stream; later ones are reset at once. Idempotent. */
  stop (): void {
    if (this.lifetime.signal.aborted) return
    const err = new InvalidStateError('the client stopped')
    this.lifetime.abort(err)
    for (const s of this.streams) s.abort(err)
  }

  private async serve (stream: Stream, peer: PeerId): Promise<void> {
    const { log } = this.c
    const { headerTimeoutMs, maxFileBytes, maxInMemoryBytes } = this.init
    let opened
    try {
      opened = await readFileHeader(stream, AbortSignal.any([this.lifetime.signal, AbortSignal.timeout(headerTimeoutMs)]))
    } catch (err) {
      stream.abort(err as Error)
      if (this.lifetime.signal.aborted) return
      const timedOut = upstreamErrorKind(err) === 'timeout'
      const message = timedOut ? `no file header within ${headerTimeoutMs} ms` : `the file header does not decode: ${(err as Error).message}`
      log('a file stream from %p failed before its header: %s', peer, message)
      this.c.refused({ peer, reason: 'bad-header', message })
      return
    }
    const { lp, header } = opened
    const offer = header.offer
    const expected = offer?.sha256
    const name = sanitizeFileName(offer?.name ?? '')
    const size = offer?.size as number | undefined
    const refuse = async (reason: FileRefusalReason, message: string, limit?: number): Promise<void> => {
      await refuseFileStream(lp, stream, message, log)
      this.c.refused({ peer, reason, message, callId: header.callId, name, ...(size !== undefined ? { size } : {}), ...(limit !== undefined ? { limit } : {}) })
    }
    if (offer == null || size === undefined || expected == null || expected.byteLength !== 32) { await refuse('bad-header', 'a file header without a size or a SHA-256'); return }
    if (size > maxFileBytes) { await refuse('too-large', `file of ${size} bytes is over the receiver's limit of ${maxFileBytes} bytes`, maxFileBytes); return }
    const transfer = new FileTransfer({
      id: (offer.fileId ?? '').slice(0, 64),
      direction: 'receive',
      name,
      size,
      mimeType: sanitizeMimeType(offer.mimeType ?? ''),
      log,
      image: offer.image === true
    })
    const call = this.c.findCall(header.callId, peer)
    if (call === undefined || !call.announceFile(transfer)) { await refuse('no-such-call', 'no such call'); return }
    // the app chose a sink, or not, in its `file` listener
    const sink = transfer.takeSink()
    if (sink === undefined && size > maxInMemoryBytes) {
      transfer.fail(tooLarge(name, size, maxInMemoryBytes, 'the in-memory limit and no sink was given (transfer.receiveTo())'))
      await refuse('too-large', `file of ${size} bytes is over the receiver's in-memory limit of ${maxInMemoryBytes} bytes`, maxInMemoryBytes)
      return
    }
    await receiveFileBody(lp, stream, transfer, sink, expected, { log, signal: this.lifetime.signal })
  }
}
