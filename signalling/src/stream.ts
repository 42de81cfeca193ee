import {
  decodeDirectoryRequest, DirectoryError, encodeDirectoryResponse, MAX_DIRECTORY_REQUEST_BYTES
} from '@auralink/protocol'
import { upstreamErrorKind } from '@auralink/core'
import { lpStream } from '@libp2p/utils'
import { MalformedMessageError, MessageTooLargeError, RequestTooLargeError } from './errors.js'
import type { DirectoryRequestMessage, DirectoryResponseFields } from '@auralink/protocol'
import type { AbortOptions, Connection, Logger, PeerId, Stream } from '@libp2p/interface'

export interface ServeStreamInit {
  /** Serves one decoded request (never throws). */
  handle(from: PeerId, request: DirectoryRequestMessage, options: AbortOptions): Promise<DirectoryResponseFields>
  /** The response (and `operation` event) for a request that never got as far as decoding. */
  refuse(from: PeerId, code: DirectoryError, message: string): DirectoryResponseFields
  /** Aborts when the stream's time is up or the service stops; its reason is what the stream is aborted with. */
  signal: AbortSignal
  log: Logger
}

/**
 * One request per stream: reads one length-prefixed DirectoryRequest (at most
 * MAX_DIRECTORY_REQUEST_BYTES), writes one length-prefixed DirectoryResponse, closes its
 * writable end and waits (within the same deadline) for the remote to close its own. A request
 * over the limit or undecodable is answered with TOO_LARGE or BAD_REQUEST. Whatever goes wrong
 * ends in the stream being aborted, never in a rejection.
 */
export async function serveStream (stream: Stream, connection: Connection, init: ServeStreamInit): Promise<void> {
  const { signal, log } = init
  const from = connection.remotePeer
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_DIRECTORY_REQUEST_BYTES, maxLengthLength: MAX_LENGTH_LENGTH, lengthDecoder: decodeLength })
    let response: DirectoryResponseFields | undefined
    let request: DirectoryRequestMessage | undefined
    try {
      request = decodeDirectoryRequest((await lp.read({ signal })).subarray())
    } catch (err) {
      signal.throwIfAborted()
      const refusal = readRefusal(err)
      if (refusal === undefined) throw err
      log('refusing a directory request from %p: %s', from, refusal.message)
      response = init.refuse(from, refusal.code, refusal.message)
    }
    response ??= await init.handle(from, request!, { signal })
    await lp.write(encodeDirectoryResponse(response), { signal })
    await stream.close({ signal })
    await remoteClosed(stream, signal)
  } catch (err) {
    const reason = signal.aborted ? signal.reason as Error : err as Error
    log('directory stream from %p ended early: %s', from, reason?.message ?? String(reason))
    try {
      if (stream.status !== 'closed') stream.abort(reason instanceof Error ? reason : new Error(String(reason)))
    } catch {}
  }
}

/** Bytes of the longest length prefix a request within the limit can have (2). */
const MAX_LENGTH_LENGTH = Math.ceil(Math.log2(MAX_DIRECTORY_REQUEST_BYTES + 1) / 7)

/**
 * The unsigned varint length prefix, refused as soon as it runs past MAX_LENGTH_LENGTH bytes.
 * lpStream checks a prefix's length only once the prefix is complete, so without this an
 * endless one (0xff 0xff ...) would be read until the stream ends or times out. Throws a
 * RangeError while the prefix is incomplete: lpStream then reads one more byte.
 */
function decodeLength (data: { byteLength: number, get(index: number): number }): number {
  let value = 0
  for (let i = 0; i < data.byteLength; i++) {
    const byte = data.get(i)
    value += (byte & 0x7f) * 2 ** (7 * i)
    if ((byte & 0x80) === 0) return value
    if (i + 1 >= MAX_LENGTH_LENGTH) {
      throw new RequestTooLargeError(`request length prefix is over ${MAX_LENGTH_LENGTH} bytes: the request would be over ${MAX_DIRECTORY_REQUEST_BYTES} bytes`)
    }
  }
  throw new RangeError('incomplete length prefix')
}

/** The response code for a request that could not be read or decoded, or undefined when the stream itself failed. */
function readRefusal (err: unknown): { code: DirectoryError, message: string } | undefined {
  const upstream = upstreamErrorKind(err)
  if (err instanceof MessageTooLargeError || err instanceof RequestTooLargeError || upstream === 'data-too-long') {
    return { code: DirectoryError.DIRECTORY_ERROR_TOO_LARGE, message: `request is over ${MAX_DIRECTORY_REQUEST_BYTES} bytes` }
  }
  if (err instanceof MalformedMessageError || upstream === 'bad-length') {
    return { code: DirectoryError.DIRECTORY_ERROR_BAD_REQUEST, message: `request could not be decoded: ${(err as Error).message}` }
  }
  if (upstream === 'unexpected-eof') {
    return { code: DirectoryError.DIRECTORY_ERROR_BAD_REQUEST, message: 'the stream ended before a complete request' }
  }
  return undefined
}

/** Resolves once the stream has closed at both ends; rejects with the signal's reason when it aborts first. */
async function remoteClosed (stream: Stream, signal: AbortSignal): Promise<void> {
  if (stream.status !== 'open' && stream.status !== 'closing') return
  await new Promise<void>((resolve, reject) => {
    const onClose = (): void => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }
    const onAbort = (): void => {
      stream.removeEventListener('close', onClose)
      reject(signal.reason as Error)
    }
    if (signal.aborted) {
      reject(signal.reason as Error)
      return
    }
    stream.addEventListener('close', onClose, { once: true })
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
