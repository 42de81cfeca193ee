/**
 * @packageDocumentation
 *
 * The AuraLink client: call people by AuraID (`@bob.aura`) with audio, video, messages and
 * files over a direct, encrypted connection. Signalling travels on a libp2p stream
 * (`/auralink/signal/1.0.0`) over the connection the mesh made (WebRTC between the peers,
 * signalled through a relay); media runs on its own RTCPeerConnection (perfect negotiation); messages
 * and files run on libp2p streams on the direct connection.
 *
 * @example
 * ```ts
 * import { AuraLink } from '@auralink/sdk'
 *
 * // the identity key is kept (IndexedDB in browsers, ~/.auralink/keys in Node): a reload keeps the name
 * const client = await AuraLink.create({ relays: ['ws://127.0.0.1:4001'] })
 * await client.register('@alice.aura')
 * const call = await client.call('@bob.aura', { audio: true, video: true })
 * call.addEventListener('track', (e) => { video.srcObject = e.detail.stream })
 * call.addEventListener('state', (e) => { if (e.detail.state === 'ended') console.log(e.detail.reason) })
 * await call.whenConnected()
 * await call.send('hello')
 *
 * client.addEventListener('incoming', async (e) => {
 *   const { call } = e.detail
 *   await call.accept({ audio: true, video: true })
 * })
 * ```
 */
export { AuraLink } from './client.js'
export type { AuraLinkInit, AuraLinkEvents } from './client.js'
export { Call } from './call.js'
export type { CallEvents, CallMediaOptions, CallStateChange } from './call.js'
export type { CallState, CallEndReason, MediaRequest } from './call-machine.js'
export { GroupCall } from './group-call.js'
export type { GroupCallEvents, GroupParticipant } from './group-call.js'
export { PhoneCall } from './phone-call.js'
export type { PhoneCallEvents, PhoneCallOptions, PhoneCallState, PhoneEndReason } from './phone-call.js'
export type { RecordingChange, RecordingKind, RecordingState, StartRecordingOptions, StartStreamOptions } from './recording.js'
export { DEFAULT_RECORDING_ANSWER_TIMEOUT_MS } from './recording.js'
export type { RecordedCall, RelayRecordings } from './recording-playback.js'
export { FileTransfer } from './file-transfer.js'
export type { FileInput, FileProgress, FileSink, ReceivedFile } from './file-transfer.js'
export type { FileRefusal, FileRefusalReason, FilesInit } from './file-receiver.js'
export type { InvitesInit } from './caller-names.js'
export { sanitizeFileName } from './file-names.js'
export type { ImageCodecKind, ImageFailure, ImageInput, ImagePixels, ImagesInit, RawPixels, ReceivedImage, SendImageOptions, SentImage } from './images.js'
export type { CallStats } from './stats.js'
export type { CallSetupTimes } from './call-timeline.js'
export type { AicStats } from './aic-session.js'
export type { AicAdaptiveStats } from './aic-adapt.js'
export type { AicInit } from './aic-runtime.js'
export type { AicMode, AicScale } from './aic-wire.js'
export * from './errors.js'
// What users read; the other tuning constants stay internal (their values are the `@default`s
// of the options they tune).
export { DEFAULT_KEY_LABEL, MAX_FILE_NAME_BYTES, MAX_REASON_CHARS } from './constants.js'
export type { KeyLock, KeyStore } from '@auralink/identity'
// the key stores, with the same types on every platform: defaultKeyStore() (IndexedDB in
// browsers, a file under defaultKeyDir() in Node), fileKeyStore (Node), idbKeyStore (browsers);
// the other platform's store throws UnsupportedPlatformError
export * from '@auralink/identity/keystore'
