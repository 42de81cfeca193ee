import {
  decodeFileHeader, decodeFileResult, encodeFileHeader, encodeFileResult, MAX_FILE_HEADER_BYTES
} from '@auralink/protocol'
import { SafeEventEmitter } from '@auralink/protocol'
import { lpStream } from '@libp2p/utils'
import { sha256 } from '@noble/hashes/sha2.js'
import { FILE_CHUNK_BYTES, FILE_READ_BYTES, IN_MEMORY_FILE_BYTES, MAX_REASON_CHARS } from './constants.js'
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

/** WebCrypto's digest, where there is one (Node; browsers in secure contexts only): about ten times noble's speed, but not incremental. */
function subtleCrypto (): SubtleCrypto | undefined {
  return globalThis.crypto?.subtle
}

/** SHA-256 of bytes in memory, in one call. */
async function digestOf (bytes: Uint8Array): Promise<Uint8Array> {
  const subtle = subtleCrypto()
  if (subtle !== undefined && bytes.buffer instanceof ArrayBuffer) return new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>))
  return sha256(bytes)
}

/** Pieces of FILE_CHUNK_BYTES from a Blob read FILE_READ_BYTES at a time (each Blob read is a round trip in browsers). */
async function * blobChunks (blob: Blob): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < blob.size; at += FILE_READ_BYTES) {
    const part = new Uint8Array(await blob.slice(at, at + FILE_READ_BYTES).arrayBuffer())
    for (let i = 0; i < part.byteLength; i += FILE_CHUNK_BYTES) yield part.subarray(i, i + FILE_CHUNK_BYTES)
  }
}

function * byteChunks (data: Uint8Array): Generator<Uint8Array> {
  for (let at = 0; at < data.byteLength; at += FILE_CHUNK_BYTES) yield data.subarray(at, at + FILE_CHUNK_BYTES)
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

/**
 * The input's SHA-256 (the header carries it before the bytes) and its bytes in chunks. Bytes,
 * and Blobs up to IN_MEMORY_FILE_BYTES, are read once and hashed in one call; a larger Blob is
 * read twice, FILE_READ_BYTES at a time, and hashed with noble on the first pass.
 */
async function prepare (input: FileInput): Promise<{ digest: Uint8Array, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array> }> {
  if (!(input instanceof Blob)) return { digest: await digestOf(input.data), chunks: byteChunks(input.data) }
  if (input.size <= IN_MEMORY_FILE_BYTES) {
    const data = new Uint8Array(await input.arrayBuffer())
    return { digest: await digestOf(data), chunks: byteChunks(data) }
  }
  const h = sha256.create()
  for await (const chunk of blobChunks(input)) h.update(chunk)
  return { digest: h.digest(), chunks: blobChunks(input) }
}

/** Sends `input` on `stream` (already opened for FILE_PROTOCOL); settles `transfer`. */
export async function sendFileOn (stream: Stream, callId: string, input: FileInput, transfer: FileTransfer, signal: AbortSignal): Promise<void> {
  try {
    const lp = lpStream(stream, { maxDataLength: FILE_CHUNK_BYTES + 16 })
    const { digest, chunks } = await prepare(input)
    await lp.write(encodeFileHeader({
      callId,
      offer: { fileId: transfer.id, name: transfer.name, size: transfer.size, mimeType: transfer.mimeType, sha256: digest }
    }), { signal })
    let sent = 0
    for await (const chunk of chunks) {
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
    // up to IN_MEMORY_FILE_BYTES, with WebCrypto: one buffer, hashed once at the end; else kept in
    // chunks and hashed with noble as they come
    const whole = size <= IN_MEMORY_FILE_BYTES && subtleCrypto() !== undefined ? new Uint8Array(size) : undefined
    const h = sha256.create()
    const parts: Uint8Array[] = []
    let got = 0
    transfer.progress(0)
    while (got < size) {
      const chunk = await lp.read({ signal })
      if (got + chunk.byteLength > size) { await refuse(`more bytes than the announced ${size}`); throw new FileTransferError(`${transfer.name}: the sender sent more than the ${size} bytes it announced`) }
      if (whole !== undefined) {
        for (const buf of chunk) { whole.set(buf, got); got += buf.byteLength }
      } else {
        const bytes = chunk.subarray()
        h.update(bytes)
        parts.push(bytes)
        got += bytes.byteLength
      }
      transfer.progress(got)
    }
    const digest = whole !== undefined ? await digestOf(whole) : h.digest()
    if (!equal(digest, expected)) {
      await refuse('checksum mismatch')
      throw new FileTransferError(`${transfer.name}: SHA-256 of the received bytes does not match the sender's`)
    }
    await lp.write(encodeFileResult({ ok: true }), { signal })
    await stream.close({ signal }).catch(() => {})
    transfer.finish({ name: transfer.name, mimeType: transfer.mimeType, size, blob: new Blob(whole !== undefined ? [whole] : parts as BlobPart[], { type: transfer.mimeType }), sha256: hex(digest) })
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
