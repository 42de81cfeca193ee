// A raw RTCDataChannel between two pages, signalled by whoever drives them (SDP strings passed
// through Node, no trickle): the baseline that bench/browser-throughput compares sendFile to.
export interface RawChannel {
  /** Makes the offer (ICE gathering complete); returns the SDP. */
  offer(): Promise<string>
  /** Takes an offer, returns the answer. */
  answer(offer: string): Promise<string>
  /** The offerer takes the answer and waits for the channel to open. */
  accept(answer: string): Promise<void>
  /** Sends `size` bytes in 64 KiB messages; resolves with ms until the receiver acknowledged all of them. */
  send(size: number): Promise<number>
  close(): void
}

const CHUNK = 64 * 1024

async function gathered (pc: RTCPeerConnection, timeoutMs = 10_000): Promise<string> {
  if (pc.iceGatheringState !== 'complete') {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => { reject(new Error(`ICE gathering not complete within ${timeoutMs} ms`)) }, timeoutMs)
      pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') { clearTimeout(t); resolve() } })
    })
  }
  return JSON.stringify(pc.localDescription)
}

async function opened (ch: RTCDataChannel, timeoutMs = 10_000): Promise<void> {
  if (ch.readyState === 'open') return
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => { reject(new Error(`data channel not open within ${timeoutMs} ms`)) }, timeoutMs)
    ch.addEventListener('open', () => { clearTimeout(t); resolve() }, { once: true })
  })
}

/** The receiving end counts bytes and acknowledges once it has the size announced first. */
function receiveOn (ch: RTCDataChannel): void {
  ch.binaryType = 'arraybuffer'
  let expected = -1
  let got = 0
  ch.addEventListener('message', (e) => {
    if (typeof e.data === 'string') { expected = Number(e.data); got = 0; return }
    got += (e.data as ArrayBuffer).byteLength
    if (got === expected) ch.send('ack')
  })
}

export function rawChannel (): RawChannel {
  let pc: RTCPeerConnection | undefined
  let ch: RTCDataChannel | undefined
  return {
    async offer () {
      pc = new RTCPeerConnection({ iceServers: [] })
      ch = pc.createDataChannel('raw')
      ch.binaryType = 'arraybuffer'
      await pc.setLocalDescription(await pc.createOffer())
      return gathered(pc)
    },
    async answer (offer) {
      pc = new RTCPeerConnection({ iceServers: [] })
      pc.addEventListener('datachannel', (e) => { ch = e.channel; receiveOn(e.channel) })
      await pc.setRemoteDescription(JSON.parse(offer) as RTCSessionDescriptionInit)
      await pc.setLocalDescription(await pc.createAnswer())
      return gathered(pc)
    },
    async accept (answer) {
      await pc!.setRemoteDescription(JSON.parse(answer) as RTCSessionDescriptionInit)
      await opened(ch!)
    },
    async send (size) {
      const channel = ch!
      const chunk = new Uint8Array(CHUNK)
      crypto.getRandomValues(chunk)
      channel.bufferedAmountLowThreshold = 1024 * 1024
      const acked = new Promise<void>((resolve) => channel.addEventListener('message', (e) => { if (e.data === 'ack') resolve() }, { once: true }))
      const t0 = performance.now()
      channel.send(String(size))
      for (let sent = 0; sent < size; sent += CHUNK) {
        if (channel.bufferedAmount > 4 * 1024 * 1024) {
          await new Promise<void>((resolve) => channel.addEventListener('bufferedamountlow', () => { resolve() }, { once: true }))
        }
        channel.send(sent + CHUNK <= size ? chunk : chunk.subarray(0, size - sent))
      }
      await acked
      return performance.now() - t0
    },
    close () { pc?.close() }
  }
}
