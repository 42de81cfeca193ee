import type { AicStats } from './aic-session.js'
import type { CallSetupTimes } from './call-timeline.js'

/** A call's figures at one moment. Bitrates are averages since the previous stats() call. */
export interface CallStats {
  /**
   * How media and data travel: 'direct' (peer to peer), 'relayed' (through an AuraLink relay's
   * circuit) or 'turn' (the media through a TURN server the app configured).
   */
  path: 'direct' | 'relayed' | 'turn'
  /** Round-trip time in ms: ICE's for media calls, the call stream's ping for data calls. */
  rttMs?: number
  /** Bits per second received and sent since the previous stats() (media, or the call stream for data calls). */
  bitrateIn: number
  bitrateOut: number
  bytesReceived: number
  bytesSent: number
  /** Media packets lost, as the receiver counted them (inbound-rtp). */
  packetsLost: number
  /** Codecs in use, e.g. { audio: 'audio/opus', video: 'video/VP8' }. */
  codecs: { audio?: string, video?: string }
  /** The local and remote ICE candidate types of the media path (host, srflx, prflx, relay). */
  candidates?: { local: string, remote: string }
  /** Received video: bytes, frames decoded so far, the last frame size. */
  video?: { bytesReceived: number, framesDecoded: number, width?: number, height?: number, framesPerSecond?: number }
  /** Received audio: bytes and packets. */
  audio?: { bytesReceived: number, packetsReceived: number }
  /** AIC in this call's video (docs/aic.md "AIC in calls"); absent on calls without video. */
  aic?: AicStats
  /** When each step of the call's setup was reached (ms since `call()`, or since the invite arrived for an incoming call). */
  setup?: CallSetupTimes
  /** Times the call went 'reconnecting' and came back (README "Reconnecting"). */
  reconnects: number
  timestamp: number
}

interface Inputs {
  path: CallStats['path']
  pc: RTCPeerConnection | undefined
  rttMs: number | undefined
  bytesIn: number
  bytesOut: number
  reconnects: number
}

const previous = new WeakMap<object, { t: number, inBytes: number, outBytes: number }>()

/** Reads an RTCPeerConnection's stats (when the call has media) into CallStats. */
export async function collectStats (inp: Inputs, key: object = inp, aic?: AicStats): Promise<CallStats> {
  const now = Date.now()
  let bytesReceived = inp.bytesIn
  let bytesSent = inp.bytesOut
  let rttMs = inp.rttMs
  let packetsLost = 0
  let path: CallStats['path'] = inp.path
  const codecs: CallStats['codecs'] = {}
  let candidates: CallStats['candidates']
  let video: CallStats['video']
  let audio: CallStats['audio']
  if (inp.pc !== undefined && inp.pc.connectionState !== 'closed') {
    const report = await inp.pc.getStats()
    const byId = new Map<string, Record<string, unknown>>()
    report.forEach((s: Record<string, unknown>) => { byId.set(s.id as string, s) })
    bytesReceived = 0
    bytesSent = 0
    // the pairs ICE selected, through the transports; their bytes from the transport, or from the
    // pair where the transport has none (Firefox); a browser without transport stats flags the pair
    const transports = [...byId.values()].filter((s) => s.type === 'transport')
    const pairs = transports.length > 0
      ? transports.map((t) => {
        const pair = byId.get(t.selectedCandidatePairId as string)
        return { bytes: typeof t.bytesReceived === 'number' || pair === undefined ? t : pair, pair }
      })
      : [...byId.values()].filter((s) => s.type === 'candidate-pair' && s.selected === true).map((p) => ({ bytes: p, pair: p }))
    for (const { bytes, pair } of pairs) {
      bytesReceived += num(bytes.bytesReceived)
      bytesSent += num(bytes.bytesSent)
      if (pair !== undefined) {
        if (typeof pair.currentRoundTripTime === 'number') rttMs = pair.currentRoundTripTime * 1000
        const local = byId.get(pair.localCandidateId as string)
        const remote = byId.get(pair.remoteCandidateId as string)
        if (local !== undefined && remote !== undefined) {
          candidates = { local: String(local.candidateType), remote: String(remote.candidateType) }
          if (local.candidateType === 'relay' || remote.candidateType === 'relay') path = 'turn'
        }
      }
    }
    for (const s of byId.values()) {
      if (s.type === 'inbound-rtp') {
        packetsLost += num(s.packetsLost)
        const codec = byId.get(s.codecId as string)
        if (codec !== undefined && (s.kind === 'audio' || s.kind === 'video')) codecs[s.kind] = String(codec.mimeType)
        if (s.kind === 'video') {
          video = {
            bytesReceived: num(s.bytesReceived),
            framesDecoded: num(s.framesDecoded),
            ...(typeof s.frameWidth === 'number' ? { width: s.frameWidth } : {}),
            ...(typeof s.frameHeight === 'number' ? { height: s.frameHeight } : {}),
            ...(typeof s.framesPerSecond === 'number' ? { framesPerSecond: s.framesPerSecond } : {})
          }
        }
      }
      if (s.type === 'inbound-rtp' && s.kind === 'audio') {
        audio = { bytesReceived: num(s.bytesReceived), packetsReceived: num(s.packetsReceived) }
      }
      if (s.type === 'outbound-rtp') {
        const codec = byId.get(s.codecId as string)
        if (codec !== undefined && (s.kind === 'audio' || s.kind === 'video') && codecs[s.kind] === undefined) codecs[s.kind] = String(codec.mimeType)
      }
    }
  }
  const prev = previous.get(key)
  previous.set(key, { t: now, inBytes: bytesReceived, outBytes: bytesSent })
  const dt = prev !== undefined ? (now - prev.t) / 1000 : 0
  return {
    path,
    ...(rttMs !== undefined ? { rttMs } : {}),
    bitrateIn: dt > 0 ? Math.max(0, (bytesReceived - prev!.inBytes) * 8 / dt) : 0,
    bitrateOut: dt > 0 ? Math.max(0, (bytesSent - prev!.outBytes) * 8 / dt) : 0,
    bytesReceived,
    bytesSent,
    packetsLost,
    codecs,
    ...(candidates !== undefined ? { candidates } : {}),
    ...(video !== undefined ? { video } : {}),
    ...(audio !== undefined ? { audio } : {}),
    ...(aic !== undefined ? { aic } : {}),
    reconnects: inp.reconnects,
    timestamp: now
  }
}

function num (v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0
}
