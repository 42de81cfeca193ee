import {
  decodeDirectoryResponse, DIRECTORY_PROTOCOL, DirectoryError, DirectoryOp, encodeDirectoryRequest,
  MAX_DIRECTORY_RESPONSE_BYTES
} from '@auralink/protocol'
import { lpStream } from '@libp2p/utils'
import { DEFAULT_DIRECTORY_TIMEOUT_MS } from './constants.js'
import { DirectoryRejectedError, DirectoryTimeoutError } from './errors.js'
import type { DirectoryRejectionReason } from './errors.js'
import type { DirectoryRequestFields, DirectoryResponseMessage } from '@auralink/protocol'
import type { AbortOptions, Libp2p, PeerId } from '@libp2p/interface'

const ERROR_NAMES = new Map<number, DirectoryRejectionReason>(
  Object.entries(DirectoryError).map(([k, v]) => [v as number, k.replace(/^DIRECTORY_ERROR_/, '') as DirectoryRejectionReason])
)

/** The name of a DirectoryError code without its prefix: 7 -> 'TOO_LARGE'; 'UNKNOWN' for a code this version does not know. */
export function directoryErrorName (code: number): DirectoryRejectionReason {
  return ERROR_NAMES.get(code) ?? 'UNKNOWN'
}

/** Options of `directoryRequest()`. */
export interface DirectoryRequestOptions extends AbortOptions {
  /** @default 10_000 */
  timeoutMs?: number
}

/**
 * Sends one request to the directory on `relay` over a new stream and returns its response.
 * Throws DirectoryRejectedError when the response carries an error code.
 */
export async function directoryRequest (libp2p: Libp2p, relay: PeerId, request: DirectoryRequestFields, options: DirectoryRequestOptions = {}): Promise<DirectoryResponseMessage> {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_DIRECTORY_TIMEOUT_MS)
  const signal = options.signal != null ? AbortSignal.any([options.signal, timeout]) : timeout
  let stream
  try {
    stream = await libp2p.dialProtocol(relay, DIRECTORY_PROTOCOL, { signal, runOnLimitedConnection: true })
  } catch (err) {
    if (timeout.aborted && options.signal?.aborted !== true) {
      throw new DirectoryTimeoutError(`could not open a directory stream to relay ${relay.toString()} within ${options.timeoutMs ?? DEFAULT_DIRECTORY_TIMEOUT_MS} ms`, { cause: err })
    }
    throw err
  }
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_DIRECTORY_RESPONSE_BYTES })
    await lp.write(encodeDirectoryRequest(request), { signal })
    const response = decodeDirectoryResponse((await lp.read({ signal })).subarray())
    await stream.close({ signal }).catch(() => stream.abort(new Error('close failed')))
    if (response.error !== DirectoryError.DIRECTORY_ERROR_NONE) {
      const reason = directoryErrorName(response.error)
      const shown = reason === 'UNKNOWN' ? `UNKNOWN (${response.error})` : reason
      throw new DirectoryRejectedError(reason, `directory refused ${opName(request.op)}: ${shown}${response.message !== '' ? ` (${response.message})` : ''}`)
    }
    return response
  } catch (err) {
    if (stream.status === 'open') stream.abort(err as Error)
    if (timeout.aborted && options.signal?.aborted !== true) {
      throw new DirectoryTimeoutError(`directory ${opName(request.op)} at relay ${relay.toString()} got no answer within ${options.timeoutMs ?? DEFAULT_DIRECTORY_TIMEOUT_MS} ms`, { cause: err })
    }
    throw err
  }
}

function opName (op: number | null | undefined): string {
  const entry = Object.entries(DirectoryOp).find(([, v]) => v === op)
  return entry === undefined ? 'request' : entry[0].replace(/^DIRECTORY_OP_/, '').toLowerCase()
}
