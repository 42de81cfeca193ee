// The part of @thaunknown/simple-peer (which ships no types) that the SDK uses.
declare module '@thaunknown/simple-peer' {
  interface PeerOptions {
    initiator?: boolean
    config?: RTCConfiguration
    streams?: MediaStream[]
    trickle?: boolean
    offerOptions?: RTCOfferOptions
    answerOptions?: RTCAnswerOptions
  }
  export default class Peer {
    constructor (opts?: PeerOptions)
    readonly connected: boolean
    readonly destroyed: boolean
    _pc: RTCPeerConnection
    signal (data: unknown): void
    addTrack (track: MediaStreamTrack, stream: MediaStream): void
    removeTrack (track: MediaStreamTrack, stream: MediaStream): void
    addStream (stream: MediaStream): void
    destroy (err?: Error): void
    on (event: 'signal', cb: (data: unknown) => void): this
    on (event: 'connect' | 'close', cb: () => void): this
    on (event: 'error', cb: (err: Error & { code?: string }) => void): this
    on (event: 'track', cb: (track: MediaStreamTrack, stream: MediaStream) => void): this
    on (event: 'iceStateChange', cb: (ice: RTCIceConnectionState, gathering: RTCIceGatheringState) => void): this
    on (event: string, cb: (...args: unknown[]) => void): this
    removeAllListeners (event?: string): this
  }
}
