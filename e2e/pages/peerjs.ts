// PeerJS (`peerjs` with its own `peer` server on 127.0.0.1) doing what the AuraLink benchmarks
// time: a media call to the first remote video frame, and one binary transfer over a reliable
// data connection, acknowledged by the receiver. Driven through window.peerjsPage.
import { Peer } from 'peerjs'
import type { DataConnection, MediaConnection } from 'peerjs'

export interface PeerjsPage {
  /** Connects to the PeerJS server on 127.0.0.1:`port` under `id`; answers calls with the fake camera and microphone. */
  start(port: number, id: string): Promise<void>
  /** Calls `id` with audio and video (getUserMedia included, as in AuraLink's call()); ms to the first remote frame. */
  timedCall(id: string, timeoutMs: number): Promise<number>
  hangup(): void
  /** Frames the remote <video> element has presented (getVideoPlaybackQuality): bench/reconnect. */
  videoFrames(): number
  /** Opens a reliable binary data connection to `id`. */
  connect(id: string): Promise<void>
  /** Sends `size` bytes as one ArrayBuffer (PeerJS chunks it); ms until the receiver acknowledged. */
  timedSend(size: number): Promise<number>
  stop(): void
}

export interface PeerjsPageWindow { peerjsPage: PeerjsPage }

const video = document.getElementById('remote') as HTMLVideoElement
let peer: Peer | undefined
let media: MediaConnection | undefined
let data: DataConnection | undefined
let local: MediaStream | undefined

function receiveOn (conn: DataConnection): void {
  conn.on('data', (d) => {
    const bytes = d instanceof ArrayBuffer ? d.byteLength : (d as Uint8Array).byteLength
    void conn.send(`ack ${bytes}`)
  })
}

function stopLocal (): void {
  for (const t of local?.getTracks() ?? []) t.stop()
  local = undefined
}

const peerjsPage: PeerjsPage = {
  async start (port, id) {
    peer = new Peer(id, { host: '127.0.0.1', port, path: '/peerjs', secure: false, debug: 0, config: { iceServers: [] } })
    await new Promise<void>((resolve, reject) => {
      peer!.once('open', () => { resolve() })
      peer!.once('error', reject)
    })
    peer.on('call', (call) => {
      void (async () => {
        local = await navigator.mediaDevices.getUserMedia({ audio: true, video: true })
        call.answer(local)
        media = call
        call.on('close', stopLocal)
      })()
    })
    peer.on('connection', (conn) => { data = conn; receiveOn(conn) })
  },
  async timedCall (id, timeoutMs) {
    const t0 = performance.now()
    video.srcObject = null
    local = await navigator.mediaDevices.getUserMedia({ audio: true, video: true })
    const call = peer!.call(id, local)
    media = call
    return new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => { reject(new Error(`no remote frame within ${timeoutMs} ms`)) }, timeoutMs)
      call.once('stream', (stream) => {
        video.srcObject = stream
        void video.play().catch(() => {})
        video.requestVideoFrameCallback(() => { clearTimeout(t); resolve(performance.now() - t0) })
      })
      call.once('error', (err) => { clearTimeout(t); reject(err) })
    })
  },
  videoFrames: () => video.getVideoPlaybackQuality().totalVideoFrames,
  hangup () {
    media?.close()
    media = undefined
    stopLocal()
  },
  async connect (id) {
    const conn = peer!.connect(id, { reliable: true, serialization: 'binary' })
    data = conn
    await new Promise<void>((resolve, reject) => {
      conn.once('open', () => { resolve() })
      conn.once('error', reject)
    })
  },
  async timedSend (size) {
    const conn = data!
    const bytes = new Uint8Array(size)
    for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(size, i + 65536)))
    const acked = new Promise<void>((resolve) => {
      const onData = (d: unknown): void => {
        if (d === `ack ${size}`) { conn.off('data', onData); resolve() }
      }
      conn.on('data', onData)
    })
    const t0 = performance.now()
    await conn.send(bytes.buffer)
    await acked
    return performance.now() - t0
  },
  stop () {
    media?.close()
    data?.close()
    stopLocal()
    peer?.destroy()
  }
}

;(window as unknown as PeerjsPageWindow).peerjsPage = peerjsPage
