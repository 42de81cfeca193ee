import {
  decodeFileHeader, decodeFileResult, encodeFileHeader, encodeFileResult, FILE_PROTOCOL, MAX_FILE_HEADER_BYTES
} from '@auralink/protocol'
import { SafeEventEmitter } from '@auralink/core'
import { lpStream } from '@libp2p/utils'
import { sha256 } from '@noble/hashes/sha2.js'
import { FILE_CHUNK_BYTES, FILE_READ_BYTES, FILE_REFUSE_WAIT_MS, IN_MEMORY_FILE_BYTES } from './constants.js'
import { FileTooLargeError, FileTransferError, InvalidStateError, TransferAbortedError } from './errors.js'
import { sanitizeFileName } from './file-names.js'
import type { FileHeaderMessage, FileResultMessage } from '@auralink/protocol'
import type { MeshConnection } from '@auralink/mesh'
import type { AbortOptions, Logger, Stream } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'

/** The payload of a file transfer's `progress` event. */
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
  /** The sanitised name (packages/sdk/README.md "File names"). */
  name: string
  mimeType: string
  size: number
  /** The bytes, as a Blob (type set to mimeType); absent when they went to a sink (`receiveTo()`). */
  blob?: Blob
  /** SHA-256 of the bytes, hex; checked against the sender's. */
  sha256: string
}

/**
 * Where an incoming file's bytes go instead of memory: a WritableStream (closed once the checksum
 * matched, aborted when the transfer fails) or a function called with each chunk in order (a
 * returned promise is awaited before the next chunk is read). The bytes are the sender's word
 * until `done` resolves: it rejects when the SHA-256 does not match.
 */
export type FileSink = WritableStream<Uint8Array> | ((chunk: Uint8Array) => void | Promise<void>)

/**
 * One file going out or coming in, on its own /auralink/file/1.0.0 stream: a FileHeader (name,
 * size, type, SHA-256), the bytes in chunks, then a FileResult from the receiver, which checks
 * size and checksum. Emits `progress` as bytes move; `done` settles when it is over.
 */
export class FileTransfer extends SafeEventEmitter<FileTransferEvents> {
  readonly id: string
  readonly direction: 'send' | 'receive'
  /** The file's name, sanitised (packages/sdk/README.md "File names"). */
  readonly name: string
  readonly size: number
  readonly mimeType: string
  /** @internal a still sent with call.sendImage(): the receiver shows it (the `image` event) instead of handing it over as a file */
  readonly image: boolean
  /**
   * Resolves with the file (receive) or with nothing (send, once the receiver confirmed it).
   * Rejects with FileTransferError (refused, cut off, checksum mismatch), FileTooLargeError
   * (receive: over the in-memory cap with no sink) or TransferAbortedError (the call ended).
   */
  readonly done: Promise<ReceivedFile | undefined>
  bytes = 0
  private resolveDone!: (f: ReceivedFile | undefined) => void
  private rejectDone!: (e: Error) => void
  private readonly log: Logger
  private readonly controller = new AbortController()
  private stream: Stream | undefined
  private sink: FileSink | undefined
  private sinkOpen: boolean

  /** @internal made by the call (sendFile) or the client (an incoming file) */
  constructor (init: { id: string, direction: 'send' | 'receive', name: string, size: number, mimeType: string, log: Logger, image?: boolean }) {
    super()
    this.id = init.id
    this.direction = init.direction
    this.name = init.name
    this.size = init.size
    this.mimeType = init.mimeType
    this.image = init.image === true
    this.log = init.log
    this.sinkOpen = init.direction === 'receive'
    this.done = new Promise((resolve, reject) => { this.resolveDone = resolve; this.rejectDone = reject })
    // a transfer whose promise nobody awaits must not become an unhandled rejection
    this.done.catch(() => {})
  }

  protected override onListenerError (type: string, err: unknown): void {
    this.log.error('a %s listener threw: %s', type, (err as Error)?.message ?? String(err))
  }

  /**
   * Incoming files: sends the bytes to `sink` instead of keeping them in memory (then `done`
   * resolves without a `blob`). Call it inside the call's `file` listener, before it returns;
   * files over `files.maxInMemoryBytes` (16 MiB by default) are refused without one.
   */
  receiveTo (sink: FileSink): void {
    if (!this.sinkOpen) {
      throw new InvalidStateError(this.direction === 'send'
        ? 'receiveTo(sink): this transfer sends a file'
        : 'receiveTo(sink): call it inside the call\'s file listener, before the first bytes arrive')
    }
    if (typeof sink !== 'function' && !(typeof WritableStream !== 'undefined' && sink instanceof WritableStream)) {
      throw new TypeError(`receiveTo(sink): sink must be a WritableStream or a function, got ${sink === null ? 'null' : typeof sink}`)
    }
    this.sink = sink
  }

  /** @internal the transfer's own signal: aborted by abort() */
  get signal (): AbortSignal { return this.controller.signal }

  /** @internal closes the window for receiveTo() and returns the sink, if any */
  takeSink (): FileSink | undefined {
    this.sinkOpen = false
    return this.sink
  }

  /** @internal the stream the transfer runs on: abort() resets it */
  attach (stream: Stream): void {
    this.stream = stream
    if (this.controller.signal.aborted) stream.abort(this.controller.signal.reason as Error)
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

  /** @internal cuts the transfer off: `done` rejects with `err`, the stream is reset, reads and writes stop. */
  abort (err: Error): void {
    this.sinkOpen = false
    this.rejectDone(err)
    if (!this.controller.signal.aborted) this.controller.abort(err)
    this.stream?.abort(err)
  }
}

/** What failed a transfer, as the error its `done` rejects with. */
function failure (err: unknown, signal: AbortSignal, what: string): Error {
  if (err instanceof FileTransferError || err instanceof FileTooLargeError || err instanceof TransferAbortedError) return err
  if (signal.aborted) {
    const reason: unknown = signal.reason
    return reason instanceof TransferAbortedError ? reason : new TransferAbortedError('aborted', `${what} was aborted`, { cause: reason })
  }
  return new FileTransferError(`${what} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err })
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

/** Pieces of `chunkBytes` from a Blob read FILE_READ_BYTES at a time (each Blob read is a round trip in browsers). */
async function * blobChunks (blob: Blob, chunkBytes: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < blob.size; at += FILE_READ_BYTES) {
    signal?.throwIfAborted()
    const part = new Uint8Array(await blob.slice(at, at + FILE_READ_BYTES).arrayBuffer())
    for (let i = 0; i < part.byteLength; i += chunkBytes) yield part.subarray(i, i + chunkBytes)
  }
}

function * byteChunks (data: Uint8Array, chunkBytes: number): Generator<Uint8Array> {
  for (let at = 0; at < data.byteLength; at += chunkBytes) yield data.subarray(at, at + chunkBytes)
}

/** The most bytes a chunk's length prefix takes (a varint; chunks are at most FILE_CHUNK_BYTES). */
const LENGTH_PREFIX_BYTES = 3
/** Most chunks written as one message, whatever a stream allows (4: 256 KiB, the largest data-channel message browsers take). */
const MAX_CHUNKS_PER_MESSAGE = 4

/**
 * How the sender cuts a file for a stream whose messages carry at most `messageBytes` bytes
 * (libp2p splits a longer write into several messages: over WebRTC each message is two data-channel
 * messages, its length and its body, and every message costs both peers CPU): chunks of at most
 * FILE_CHUNK_BYTES (the receiver's limit), `perMessage` of them with their length prefixes filling
 * one message. Without a known message size: chunks of FILE_CHUNK_BYTES, one per write.
 * @internal exported for tests
 */
export function fileChunking (messageBytes: number | undefined): { chunkBytes: number, perMessage: number } {
  if (messageBytes === undefined || !Number.isSafeInteger(messageBytes) || messageBytes < 1024) return { chunkBytes: FILE_CHUNK_BYTES, perMessage: 1 }
  const perMessage = Math.min(MAX_CHUNKS_PER_MESSAGE, Math.ceil(messageBytes / (FILE_CHUNK_BYTES + LENGTH_PREFIX_BYTES)))
  return { chunkBytes: Math.min(FILE_CHUNK_BYTES, Math.floor(messageBytes / perMessage) - LENGTH_PREFIX_BYTES), perMessage }
}

/** The payload bytes one message of `stream` carries, where the stream says (libp2p's message streams have a `maxMessageSize`, not in the Stream type). */
function messageBytesOf (stream: Stream): number | undefined {
  const n = (stream as { maxMessageSize?: unknown }).maxMessageSize
  return typeof n === 'number' ? n : undefined
}

/** Name (sanitised), size and type of an input, checked. */
export function describeFile (input: FileInput): { name: string, size: number, mimeType: string } {
  if (input instanceof Blob) {
    const name = (input as Blob & { name?: unknown }).name
    return { name: sanitizeFileName(typeof name === 'string' ? name : ''), size: input.size, mimeType: input.type }
  }
  if (input == null || typeof input !== 'object' || !(input.data instanceof Uint8Array) || typeof input.name !== 'string') {
    throw new TypeError(`sendFile(file): file must be a Blob, a File or { name: string, data: Uint8Array }, got ${input === null ? 'null' : typeof input}`)
  }
  return { name: sanitizeFileName(input.name), size: input.data.byteLength, mimeType: input.type ?? '' }
}

/** @internal a file ready to send: its SHA-256 (the header carries it before the bytes) and its bytes, in chunks of a given size */
export interface PreparedFile {
  digest: Uint8Array
  chunks(chunkBytes: number, signal?: AbortSignal): AsyncIterable<Uint8Array> | Iterable<Uint8Array>
}

/**
 * Reads and hashes `input`. Bytes, and Blobs up to IN_MEMORY_FILE_BYTES, are read once and hashed
 * in one call; a larger Blob is read twice, FILE_READ_BYTES at a time, and hashed with noble on
 * the first pass.
 * @internal
 */
export async function prepareFile (input: FileInput, signal?: AbortSignal): Promise<PreparedFile> {
  if (!(input instanceof Blob)) return { digest: await digestOf(input.data), chunks: (n) => byteChunks(input.data, n) }
  if (input.size <= IN_MEMORY_FILE_BYTES) {
    const data = new Uint8Array(await input.arrayBuffer())
    return { digest: await digestOf(data), chunks: (n) => byteChunks(data, n) }
  }
  const h = sha256.create()
  for await (const chunk of blobChunks(input, FILE_READ_BYTES, signal)) h.update(chunk)
  return { digest: h.digest(), chunks: (n, s) => blobChunks(input, n, s) }
}

/**
 * Sends the file `prepared` gives on `stream` (already opened for FILE_PROTOCOL); settles
 * `transfer`. The chunks go out a stream message's worth per write (fileChunking), and the
 * receiver's FileResult is read while they go, so a refusal stops the sending at once. `done`
 * resolves on the receiver's confirmation; the stream is closed after that.
 */
export async function sendFileOn (stream: Stream, callId: string, prepared: Promise<PreparedFile>, transfer: FileTransfer, signal: AbortSignal): Promise<void> {
  transfer.attach(stream)
  let answer: FileResultMessage | undefined
  try {
    const lp = lpStream(stream, { maxDataLength: FILE_CHUNK_BYTES + 16 })
    const { digest, chunks } = await prepared
    await lp.write(encodeFileHeader({
      callId,
      offer: { fileId: transfer.id, name: transfer.name, size: transfer.size, mimeType: transfer.mimeType, sha256: digest, ...(transfer.image ? { image: true } : {}) }
    }), { signal })
    const answered = lp.read({ signal }).then((b) => (answer = decodeFileResult(b.subarray())))
    answered.catch(() => {})
    const { chunkBytes, perMessage } = fileChunking(messageBytesOf(stream))
    let batch: Uint8Array[] = []
    let sent = 0
    const flush = async (): Promise<void> => {
      if (perMessage === 1) await lp.write(batch[0]!, { signal })
      else await lp.writeV(batch, { signal })
      for (const c of batch) sent += c.byteLength
      batch = []
      transfer.progress(sent)
    }
    for await (const chunk of chunks(chunkBytes, signal)) {
      if (answer !== undefined) break
      batch.push(chunk)
      if (batch.length === perMessage) await flush()
    }
    if (batch.length > 0 && answer === undefined) await flush()
    if (transfer.size === 0) transfer.progress(0)
    const result = answer ?? await answered
    if (!result.ok) throw refusal(transfer, result)
    transfer.finish()
    await stream.close({ signal }).catch(() => {})
  } catch (err) {
    stream.abort(err as Error)
    transfer.fail(answer !== undefined && !answer.ok ? refusal(transfer, answer) : failure(err, signal, `sending ${transfer.name}`))
  }
}

/**
 * Opens a file stream on `conn` and sends `input` on it, in the background; settles `transfer`.
 * The file is read and hashed while the stream opens.
 */
export function sendFileVia (conn: MeshConnection, callId: string, input: FileInput, transfer: FileTransfer, options: AbortOptions): void {
  const signal = options.signal != null ? AbortSignal.any([options.signal, transfer.signal]) : transfer.signal
  const prepared = prepareFile(input, signal)
  prepared.catch(() => {})
  void (async () => {
    try {
      const stream = await conn.newStream(FILE_PROTOCOL, { signal })
      await sendFileOn(stream, callId, prepared, transfer, signal)
    } catch (err) {
      transfer.fail(failure(err, signal, `sending ${transfer.name}`))
    }
  })()
}

function refusal (transfer: FileTransfer, result: FileResultMessage): FileTransferError {
  return new FileTransferError(`the receiver refused ${transfer.name}: ${result.error}`)
}

/** An incoming file stream's length-prefixed reader/writer and its header. */
export async function readFileHeader (stream: Stream, signal: AbortSignal): Promise<{ lp: LengthPrefixedStream<Stream>, header: FileHeaderMessage }> {
  const lp = lpStream(stream, { maxDataLength: Math.max(FILE_CHUNK_BYTES + 16, MAX_FILE_HEADER_BYTES) })
  const header = decodeFileHeader((await lp.read({ signal })).subarray())
  return { lp, header }
}

/** Refuses an incoming file stream: the reason as a FileResult (waiting at most FILE_REFUSE_WAIT_MS), then a reset. */
export async function refuseFileStream (lp: LengthPrefixedStream<Stream>, stream: Stream, error: string, log: Logger): Promise<void> {
  log('refusing a file: %s', error)
  const signal = AbortSignal.timeout(FILE_REFUSE_WAIT_MS)
  try {
    await lp.write(encodeFileResult({ ok: false, error }), { signal })
    await stream.close({ signal })
  } catch {}
  stream.abort(new FileTransferError(error))
}

export interface ReceiveFileInit {
  log: Logger
  /** Aborted when the client stops. */
  signal: AbortSignal
}

/**
 * Receives the bytes of an announced `transfer` on `lp`, into `sink` or, without one, into memory
 * as they arrive (never sized by the header's claim); checks size and SHA-256; settles `transfer`.
 */
export async function receiveFileBody (lp: LengthPrefixedStream<Stream>, stream: Stream, transfer: FileTransfer, sink: FileSink | undefined, expected: Uint8Array, init: ReceiveFileInit): Promise<void> {
  const { log } = init
  const { size, name } = transfer
  transfer.attach(stream)
  const signal = AbortSignal.any([init.signal, transfer.signal])
  const writer = sink === undefined || typeof sink === 'function' ? undefined : sink.getWriter()
  const write = typeof sink === 'function' ? sink : writer !== undefined ? async (b: Uint8Array) => writer.write(b) : undefined
  // in memory with WebCrypto: hashed once at the end (about ten times noble's speed); else with noble as the chunks pass
  const h = write !== undefined || subtleCrypto() === undefined ? sha256.create() : undefined
  let parts: Uint8Array[] = []
  let got = 0
  try {
    transfer.progress(0)
    while (got < size) {
      const chunk = await lp.read({ signal })
      if (got + chunk.byteLength > size) {
        await refuseFileStream(lp, stream, `more bytes than the announced ${size}`, log)
        throw new FileTransferError(`${name}: the sender sent more than the ${size} bytes it announced`)
      }
      const bytes = chunk.subarray()
      got += bytes.byteLength
      h?.update(bytes)
      if (write !== undefined) await write(bytes)
      else parts.push(bytes)
      transfer.progress(got)
    }
    if (h === undefined) parts = [concat(parts, got)]
    const digest = h !== undefined ? h.digest() : await digestOf(parts[0]!)
    if (!equal(digest, expected)) {
      await refuseFileStream(lp, stream, 'checksum mismatch', log)
      throw new FileTransferError(`${name}: SHA-256 of the received bytes does not match the sender's`)
    }
    await writer?.close()
    await lp.write(encodeFileResult({ ok: true }), { signal })
    const blob = write === undefined ? { blob: new Blob(parts as BlobPart[], { type: transfer.mimeType }) } : {}
    parts = []
    transfer.finish({ name, mimeType: transfer.mimeType, size, ...blob, sha256: hex(digest) })
    await stream.close({ signal }).catch(() => {})
  } catch (err) {
    parts = []
    stream.abort(err as Error)
    const e = failure(err, signal, `receiving ${name}`)
    if (writer !== undefined) void writer.abort(e).catch(() => {})
    transfer.fail(e)
  }
}

function concat (parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1 && parts[0]!.byteLength === length) return parts[0]!
  const out = new Uint8Array(length)
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.byteLength }
  return out
}

/** The FileTooLargeError for a file of `size` bytes over `limit` (`what` names the limit). */
export function tooLarge (name: string, size: number, limit: number, what: string): FileTooLargeError {
  return new FileTooLargeError(size, limit, `${name}: a file of ${size} bytes is over ${what} of ${limit} bytes`)
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
