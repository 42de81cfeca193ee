/**
 * The errors of libp2p, its datastores and the platform that AuraLink code reacts to:
 *
 * - `unexpected-eof`: a stream ended before a whole message (`UnexpectedEOFError`);
 * - `unsupported-protocol`: the remote does not speak the protocol asked for (`UnsupportedProtocolError`);
 * - `not-found`: a datastore has no value under the key (`NotFoundError`);
 * - `connection-denied`: libp2p's connection manager refused a connection (`ConnectionDeniedError`);
 * - `data-too-long`: a length-prefixed message, or its prefix, is over the reader's limit
 *   (`InvalidDataLengthError`, `InvalidDataLengthLengthError`);
 * - `bad-length`: a length prefix that does not decode (`InvalidMessageLengthError`);
 * - `no-reservation`: a circuit relay refused a circuit because the peer holds no reservation on it
 *   (status `NO_RESERVATION`);
 * - `timeout`: an `AbortSignal.timeout()` fired (`TimeoutError`);
 * - `encryption-failed`: the secure handshake failed, e.g. the remote proved another peer id than
 *   the one dialled (`EncryptionFailedError`).
 */
export type UpstreamErrorKind =
  | 'unexpected-eof' | 'unsupported-protocol' | 'not-found' | 'connection-denied'
  | 'data-too-long' | 'bad-length' | 'no-reservation' | 'timeout' | 'encryption-failed'

const BY_NAME = new Map<string, UpstreamErrorKind>([
  ['UnexpectedEOFError', 'unexpected-eof'],
  ['UnsupportedProtocolError', 'unsupported-protocol'],
  ['NotFoundError', 'not-found'],
  ['ConnectionDeniedError', 'connection-denied'],
  ['InvalidDataLengthError', 'data-too-long'],
  ['InvalidDataLengthLengthError', 'data-too-long'],
  ['InvalidMessageLengthError', 'bad-length'],
  ['TimeoutError', 'timeout'],
  ['EncryptionFailedError', 'encryption-failed']
])

/**
 * Which upstream error `err` is, or undefined for any other (AuraLink's own errors included:
 * match those with `instanceof`). Upstream errors cannot be matched by class (a tree may hold
 * several copies of a libp2p package, and a DOMException has no class of its own per name), so
 * they are recognised here, by libp2p's own convention (the `name`), and nowhere else. The one
 * upstream error that says what it is only in its message is the circuit relay's refusal, whose
 * status (`NO_RESERVATION`) @libp2p/circuit-relay-v2 puts in the text of an `InvalidMessageError`
 * (which the WebRTC transport passes on as it is).
 */
export function upstreamErrorKind (err: unknown): UpstreamErrorKind | undefined {
  if (err == null || typeof err !== 'object') return undefined
  const { name, message } = err as { name?: unknown, message?: unknown }
  if (typeof name !== 'string') return undefined
  if (typeof message === 'string' && message.includes('NO_RESERVATION')) return 'no-reservation'
  return BY_NAME.get(name)
}
