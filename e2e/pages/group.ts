// A page for group calls (e2e/sdk-group.e2e.test.ts): one AuraLink client, one group call at a
// time, a <video> per participant (the grid), and what the test reads back.
import { AuraLink } from '@auralink/sdk'
import type { GroupCall } from '@auralink/sdk'

export interface GroupPageError { name: string, message: string }
export interface GroupPage {
  /** AuraLink.create({ relays: [relay] }) without a key store, then register(name); the PeerId. */
  start(relay: string, name: string): Promise<string>
  /** client.call(names, audio + video) (the fake camera at 320x240, 15 fps, or `?video=`): null, or the error. */
  call(names: string[]): Promise<GroupPageError | null>
  /** group.invite(name): null, or the error. */
  invite(name: string): Promise<GroupPageError | null>
  /**
   * Each participant as the group sees it: its AuraID, state, remote video frames presented (all
   * its tile's streams together) and live audio tracks, and how often its tile's stream was
   * replaced (a new call for the pair, or a new track).
   */
  participants(): Array<{ auraId: string, state: string, frames: number, audio: number, replaced: number }>
  /** group.send(text): the AuraIDs (or peer ids) it was handed to and those it did not reach. */
  send(text: string): Promise<{ to: string[], unreached: string[] }>
  messages(): string[]
  /** participant:left events: who and why, and ms since the page loaded. */
  lefts(): Array<{ auraId: string, reason: string, at: number }>
  leave(): Promise<void>
  /** Per participant: what its call's stats and tracks say (to see why a video shows nothing). */
  inspect(): Promise<unknown[]>
  /** Bytes sent and received over every participant's call so far (their stats()), and how many calls. */
  bytes(): Promise<{ sent: number, received: number, calls: number }>
  /** group.setUplink(bps). */
  setUplink(bps: number): void
  /** Per participant with a call: bytes sent to it so far, and its pair's video budget (group.stats()). */
  pairs(): Promise<Array<{ auraId: string, bytesSent: number, videoBudgetBps?: number }>>
}
export interface GroupPageWindow { groupPage: GroupPage }

let client: AuraLink | undefined
let group: GroupCall | undefined
const videos = new Map<string, HTMLVideoElement>()
/** Frames a tile presented before its stream was replaced, and how many times it was. */
const earlier = new Map<string, { frames: number, replaced: number }>()
const audio = new Map<string, number>()
const received: string[] = []
const lefts: Array<{ auraId: string, reason: string, at: number }> = []
const grid = document.getElementById('grid')!
// the fake camera: 320x240 at 15 fps, or `?video=WxH@FPS` (a six-page room on a 2-core machine
// sends smaller pictures: thirty encoders and thirty decoders share its cores)
const videoParam = /^(\d{2,4})x(\d{2,4})@(\d{1,2})$/.exec(new URLSearchParams(location.search).get('video') ?? '')
const camera = { audio: true, video: videoParam !== null ? { width: Number(videoParam[1]), height: Number(videoParam[2]), frameRate: Number(videoParam[3]) } : { width: 320, height: 240, frameRate: 15 } }

function follow (g: GroupCall): void {
  group = g
  g.addEventListener('track', (e) => {
    const id = e.detail.participant.peer.toString()
    if (e.detail.track.kind === 'audio') { audio.set(id, (audio.get(id) ?? 0) + 1); return }
    let v = videos.get(id)
    if (v === undefined) {
      v = document.createElement('video')
      v.muted = true
      v.autoplay = true
      v.playsInline = true
      v.width = 160
      v.height = 120
      grid.append(v)
      videos.set(id, v)
    }
    if (v.srcObject !== e.detail.stream && v.srcObject !== null) {
      const before = earlier.get(id) ?? { frames: 0, replaced: 0 }
      earlier.set(id, { frames: before.frames + v.getVideoPlaybackQuality().totalVideoFrames, replaced: before.replaced + 1 })
    }
    v.srcObject = e.detail.stream
    void v.play().catch(() => {})
  })
  g.addEventListener('message', (e) => { received.push(`${e.detail.participant.auraId ?? '?'}: ${e.detail.text ?? ''}`) })
  g.addEventListener('participant:left', (e) => { lefts.push({ auraId: e.detail.participant.auraId ?? '?', reason: e.detail.reason, at: performance.now() }) })
}

const errorOf = (err: unknown): GroupPageError => ({ name: (err as Error).name, message: (err as Error).message })

const page: GroupPage = {
  async start (relay, name) {
    const aicOff = new URLSearchParams(location.search).get('aic') === 'off'
    client = await AuraLink.create({ relays: [relay], iceServers: [], keyStore: null, ...(aicOff ? { aic: { mode: 'off' as const } } : {}) })
    await client.register(name)
    client.addEventListener('incoming', (e) => {
      if (e.detail.group === undefined) { void e.detail.call.reject('this page takes group calls only'); return }
      follow(e.detail.group)
      void navigator.mediaDevices.getUserMedia(camera).then(async (stream) => { await e.detail.group!.accept({ audio: true, video: true, stream }) })
    })
    return client.peerId.toString()
  },
  async call (names) {
    try {
      const stream = await navigator.mediaDevices.getUserMedia(camera)
      follow(await client!.call(names, { audio: true, video: true, stream }))
      return null
    } catch (err) {
      return errorOf(err)
    }
  },
  async invite (name) {
    try {
      await group!.invite(name)
      return null
    } catch (err) {
      return errorOf(err)
    }
  },
  participants () {
    return (group?.participants ?? []).map((p) => {
      const id = p.peer.toString()
      const v = videos.get(id)
      const before = earlier.get(id) ?? { frames: 0, replaced: 0 }
      return { auraId: p.auraId ?? '?', state: p.state, frames: before.frames + (v?.getVideoPlaybackQuality().totalVideoFrames ?? 0), replaced: before.replaced, audio: p.call?.remoteStream?.getAudioTracks().filter((t) => t.readyState === 'live').length ?? 0 }
    })
  },
  async send (text) {
    const { to, unreached } = await group!.send(text)
    const named = (peer: { toString: () => string }): string => group!.participants.find((p) => p.peer.toString() === peer.toString())?.auraId ?? peer.toString()
    return { to: to.map(named), unreached: unreached.map(named) }
  },
  messages: () => received.slice(),
  lefts: () => lefts.slice(),
  async leave () { await group?.leave() },
  async inspect () {
    const out: unknown[] = []
    for (const p of group?.participants ?? []) {
      const st = p.call !== undefined ? await p.call.stats() : undefined
      const v = videos.get(p.peer.toString())
      out.push({ auraId: p.auraId, state: p.state, video: st?.video, codecs: st?.codecs, tracks: p.call?.remoteStream?.getTracks().map((t) => `${t.kind}:${t.readyState}:${t.muted ? 'muted' : 'unmuted'}`), elementStream: (v?.srcObject as MediaStream | null)?.id, callStream: p.call?.remoteStream?.id, paused: v?.paused, readyState: v?.readyState })
    }
    return out
  },
  async bytes () {
    let sent = 0
    let received = 0
    let calls = 0
    for (const p of group?.participants ?? []) {
      if (p.call === undefined || p.state !== 'connected') continue
      const st = await p.call.stats()
      sent += st.bytesSent
      received += st.bytesReceived
      calls++
    }
    return { sent, received, calls }
  },
  setUplink (bps) { group!.setUplink(bps) },
  async pairs () {
    return (await group?.stats() ?? []).filter((x) => x.stats !== undefined).map((x) => ({ auraId: x.auraId ?? '', bytesSent: x.stats!.bytesSent, ...(x.videoBudgetBps !== undefined ? { videoBudgetBps: x.videoBudgetBps } : {}) }))
  }
}
;(window as unknown as GroupPageWindow).groupPage = page
