import Peer from '@thaunknown/simple-peer'
import { MediaUnsupportedError } from './errors.js'
import type { MediaSignal } from './call-machine.js'
import type { Logger } from '@libp2p/interface'

export interface MediaSessionEvents {
  signal(signal: MediaSignal): void
  connected(): void
  track(track: MediaStreamTrack, stream: MediaStream): void
  /** The peer connection failed or closed; the call ends with 'media-failed'. */
  failed(error: Error): void
  /** ICE went 'disconnected' (true) or came back (false). */
  interrupted(down: boolean): void
}

export interface MediaSessionInit {
  initiator: boolean
  iceServers: RTCIceServer[]
  stream?: MediaStream
  log: Logger
}

/**
 * The media half of a call: one RTCPeerConnection through simple-peer (its maintained fork),
 * whose offers, answers and candidates the call carries on its signal stream. The caller is the
 * initiator. Exists only for calls with audio or video.
 */
export class MediaSession {
  readonly peer: Peer
  private readonly log: Logger
  private stopped = false

  constructor (init: MediaSessionInit, events: MediaSessionEvents) {
    if (typeof globalThis.RTCPeerConnection !== 'function') {
      throw new MediaUnsupportedError('audio and video need WebRTC media (RTCPeerConnection): a browser, Electron, or React Native with react-native-webrtc; in Node, make data-only calls')
    }
    this.log = init.log
    this.peer = new Peer({
      initiator: init.initiator,
      config: { iceServers: init.iceServers },
      ...(init.stream != null ? { streams: [init.stream] } : {}),
      trickle: true
    })
    this.peer.on('signal', (data) => {
      if (this.stopped) return
      const signal = toMediaSignal(data)
      if (signal === undefined) {
        this.log('media session produced a signal of no known kind: %o', data)
        return
      }
      events.signal(signal)
    })
    this.peer.on('connect', () => { if (!this.stopped) events.connected() })
    this.peer.on('track', (track, stream) => { if (!this.stopped) events.track(track, stream) })
    this.peer.on('iceStateChange', (ice) => {
      if (this.stopped) return
      if (ice === 'disconnected') events.interrupted(true)
      else if (ice === 'connected' || ice === 'completed') events.interrupted(false)
    })
    this.peer.on('error', (err) => {
      if (this.stopped) return
      this.log('media session error %s: %s', err.code ?? '', err.message)
      events.failed(err)
    })
    this.peer.on('close', () => {
      if (!this.stopped) events.failed(new Error('the media connection closed'))
    })
  }

  get pc (): RTCPeerConnection { return this.peer._pc }

  /** A signal from the other side. */
  signal (signal: MediaSignal): void {
    if (this.stopped) return
    this.peer.signal(signal)
  }

  addTrack (track: MediaStreamTrack, stream: MediaStream): void {
    this.peer.addTrack(track, stream)
  }

  removeTrack (track: MediaStreamTrack, stream: MediaStream): void {
    this.peer.removeTrack(track, stream)
  }

  stop (): void {
    if (this.stopped) return
    this.stopped = true
    try { this.peer.destroy() } catch {}
  }
}

function toMediaSignal (data: unknown): MediaSignal | undefined {
  const d = data as Record<string, unknown>
  if ((d.type === 'offer' || d.type === 'answer') && typeof d.sdp === 'string') return { type: d.type, sdp: d.sdp }
  if (d.candidate != null && typeof d.candidate === 'object') return { type: 'candidate', candidate: d.candidate as RTCIceCandidateInit & { candidate: string } }
  if (d.renegotiate === true) return { type: 'renegotiate', renegotiate: true }
  if (d.transceiverRequest != null) return { type: 'transceiverRequest', transceiverRequest: d.transceiverRequest as { kind: string } }
  return undefined
}
