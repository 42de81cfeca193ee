import {
  decodeFileHeader, decodeFileResult, encodeFileHeader, encodeFileResult, MAX_FILE_HEADER_BYTES
} from '@auralink/protocol'
import { SafeEventEmitter } from '@auralink/protocol'
import { lpStream } from '@libp2p/utils'
import { sha256 } from '@noble/hashes/sha2.js'
import { FILE_CHUNK_BYTES, MAX_REASON_CHARS } from './constants.js'
import { FileTransferError } from './errors.js'
import type { Logger, Stream } from '@libp2p/interface'

export interface FileProgress {
  /** Bytes sent or received so far. */
  bytes: number
  /** The file's size. */
  total: number
}

export interface FileTransferEvents {
  progress: CustomEvent<FileProgress>
}

/** What a file transfer delivers to the receiver. */
export interface ReceivedFile {
  name: string
  mimeType: string
  size: number
  /** The bytes, as a Blob (type set to mimeType). */
  blob: Blob
  /** SHA-256 of the bytes, hex; checked against the sender's. */
  sha256: string
}

/**
 * One file going out or coming in, on its own /auralink/file/1.0.0 stream: a FileHeader (name,
 * size, type, SHA-256), the bytes in chunks, then a FileResult from the receiver, which checks
 * size and checksum. Emits `progress` as bytes move; `done` settles when it is over.
 */
export class FileTransfer extends SafeEventEmitter<FileTransferEvents> {
  readonly id: string
  readonly direction: 'send' | 'receive'
  readonly name: string
  readonly size: number
  readonly mimeType: string
  /** Resolves with the file (receive) or with nothing (send, once the receiver confirmed it). */
  readonly done: Promise<ReceivedFile | undefined>
  bytes = 0
  private resolveDone!: (f: ReceivedFile | undefined) => void
  private rejectDone!: (e: Error) => void
  private readonly log: Logger

  constructor (init: { id: string, direction: 'send' | 'receive', name: string, size: number, mimeType: string, log: Logger }) {
    super()
    this.id = init.id
    this.direction = init.direction
    this.name = init.name
    this.size = init.size
    this.mimeType = init.mimeType
    this.log = init.log
    this.done = new Promise((resolve, reject) => { this.resolveDone = resolve; this.rejectDone = reject })
    // a transfer whose promise nobody awaits must not become an unhandled rejection
    this.done.catch(() => {})
  }

  protected override onListenerError (type: string, err: unknown): void {
    this.log.error('a %s listener threw: %s', type, (err as Error)?.message ?? String(err))
  }

  /** @internal */
  progress (bytes: number): void {
    this.bytes = bytes
    this.safeDispatchEvent('progress', { detail: { bytes, total: this.size } })
  }

  /** @internal */
  finish (file?: ReceivedFile): void { this.resolveDone(file) }
  /** @internal */
  fail (err: Error): void { this.rejectDone(err) }
}

/** The bytes of a file to send: a Blob (File) or bytes with a name. */
export type FileInput = Blob | { name: string, data: Uint8Array, type?: string }

async function * chunksOf (input: FileInput): AsyncGenerator<Uint8Array> {
  if (input instanceof Blob) {
    for (let at = 0; at < input.size; at += FILE_CHUNK_BYTES) {
      yield new Uint8Array(await input.slice(at, at + FILE_CHUNK_BYTES).arrayBuffer())
    }
  } else {
    for (let at = 0; at < input.data.byteLength; at += FILE_CHUNK_BYTES) yield input.data.subarray(at, at + FILE_CHUNK_BYTES)
  }
}

/** Name, size and type of an input, checked. */
export function describeFile (input: FileInput): { name: string, size: number, mimeType: string } {
  if (input instanceof Blob) {
    const name = (input as Blob & { name?: unknown }).name
    return { name: typeof name === 'string' && name !== '' ? name : 'file', size: input.size, mimeType: input.type }
  }
  if (input == null || typeof input !== 'object' || !(input.data instanceof Uint8Array) || typeof input.name !== 'string') {
    throw new TypeError(`sendFile(file): file must be a Blob, a File or { name: string, data: Uint8Array }, got ${input === null ? 'null' : typeof input}`)
  }
  return { name: input.name, size: input.data.byteLength, mimeType: input.type ?? '' }
}

/** Hashes the input (a first pass over it: the header carries the hash before the bytes). */
async function hashOf (input: FileInput): Promise<Uint8Array> {
  const h = sha256.create()
  for await (const chunk of chunksOf(input)) h.update(chunk)
  return h.digest()
}

/** Sends `input` on `stream` (already opened for FILE_PROTOCOL); settles `transfer`. */
export async function sendFileOn (stream: Stream, callId: string, input: FileInput, transfer: FileTransfer, signal: AbortSignal): Promise<void> {
  try {
    const lp = lpStream(stream, { maxDataLength: FILE_CHUNK_BYTES + 16 })
    const digest = await hashOf(input)
    await lp.write(encodeFileHeader({
      callId,
      offer: { fileId: transfer.id, name: transfer.name, size: transfer.size, mimeType: transfer.mimeType, sha256: digest }
    }), { signal })
    let sent = 0
    for await (const chunk of chunksOf(input)) {
      await lp.write(chunk, { signal })
      sent += chunk.byteLength
      transfer.progress(sent)
    }
    if (transfer.size === 0) transfer.progress(0)
    const result = decodeFileResult((await lp.read({ signal })).subarray())
    await stream.close({ signal }).catch(() => {})
    if (!result.ok) throw new FileTransferError(`the receiver refused ${transfer.name}: ${result.error}`)
    transfer.finish()
  } catch (err) {
    stream.abort(err as Error)
    transfer.fail(err instanceof FileTransferError ? err : new FileTransferError(`sending ${transfer.name} failed: ${(err as Error).message}`, { cause: err }))
  }
}

export interface ReceiveFileInit {
  maxBytes: number
  log: Logger
  /** The header was read: the call checks the call id and announces the transfer. Returns undefined to refuse. */
  announce(callId: string, transfer: FileTransfer): boolean
  signal: AbortSignal
}

/** Serves one incoming file stream. */
export async function receiveFileOn (stream: Stream, init: ReceiveFileInit): Promise<void> {
  const { log, signal } = init
  const lp = lpStream(stream, { maxDataLength: Math.max(FILE_CHUNK_BYTES + 16, MAX_FILE_HEADER_BYTES) })
  let transfer: FileTransfer | undefined
  const refuse = async (error: string): Promise<void> => {
    log('refusing a file: %s', error)
    await lp.write(encodeFileResult({ ok: false, error }), { signal }).catch(() => {})
    await stream.close({ signal }).catch(() => { stream.abort(new Error(error)) })
  }
  try {
    const header = decodeFileHeader((await lp.read({ signal })).subarray())
    const offer = header.offer
    const expected = offer?.sha256
    if (offer == null || expected == null || expected.byteLength !== 32) { await refuse('a file header without a SHA-256'); return }
    const size = offer.size as number
    if (size > init.maxBytes) { await refuse(`file of ${size} bytes is over the receiver's limit of ${init.maxBytes} bytes`); return }
    transfer = new FileTransfer({
      id: offer.fileId ?? '',
      direction: 'receive',
      name: (offer.name ?? '').slice(0, MAX_REASON_CHARS) || 'file',
      size,
      mimeType: (offer.mimeType ?? '').slice(0, 128),
      log
    })
    if (!init.announce(header.callId, transfer)) { await refuse('no such call'); transfer.fail(new FileTransferError('refused: no such call')); return }
    const h = sha256.create()
    const parts: Uint8Array[] = []
    let got = 0
    transfer.progress(0)
    while (got < size) {
      const chunk = (await lp.read({ signal })).subarray()
      got += chunk.byteLength
      if (got > size) { await refuse(`more bytes than the announced ${size}`); throw new FileTransferError(`${transfer.name}: the sender sent more than the ${size} bytes it announced`) }
      h.update(chunk)
      parts.push(chunk)
      transfer.progress(got)
    }
    const digest = h.digest()
    if (!equal(digest, expected)) {
      await refuse('checksum mismatch')
      throw new FileTransferError(`${transfer.name}: SHA-256 of the received bytes does not match the sender's`)
    }
    await lp.write(encodeFileResult({ ok: true }), { signal })
    await stream.close({ signal }).catch(() => {})
    transfer.finish({ name: transfer.name, mimeType: transfer.mimeType, size, blob: new Blob(parts as BlobPart[], { type: transfer.mimeType }), sha256: hex(digest) })
  } catch (err) {
    stream.abort(err as Error)
    transfer?.fail(err instanceof FileTransferError ? err : new FileTransferError(`receiving ${transfer.name} failed: ${(err as Error).message}`, { cause: err }))
    if (transfer === undefined) log('a file stream failed before its header: %s', (err as Error).message)
  }
}

function equal (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  let d = 0
  for (let i = 0; i < a.byteLength; i++) d |= a[i]! ^ b[i]!
  return d === 0
}

export function hex (b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
}
