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
 * const client = await AuraLink.create({ relays: ['/ip4/127.0.0.1/tcp/4001/ws/p2p/12D3Koo...'] })
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
export { CallMachine, theirsWins } from './call-machine.js'
export type { Effect, MediaSignal } from './call-machine.js'
export { FileTransfer } from './file-transfer.js'
export type { FileInput, FileProgress, FileSink, ReceivedFile } from './file-transfer.js'
export type { FileRefusal, FileRefusalReason, FilesInit } from './file-receiver.js'
export type { InvitesInit } from './caller-names.js'
export { sanitizeFileName } from './file-names.js'
export type { CallStats } from './stats.js'
export type { AicStats } from './aic-session.js'
export type { AicInit } from './aic-runtime.js'
export type { AicMode, AicScale } from './aic-wire.js'
export * from './errors.js'
export * from './constants.js'
export { AuraIdNotFoundError, PeerOfflineError, RelayUnreachableError, DialFailedError } from '@auralink/mesh'
