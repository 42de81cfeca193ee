/* global window, document */
// The install test's app (test/install/README.md): written from the SDK README alone, built by
// `npx vite build` in a folder where `npm install @auralink/sdk vite` is all that ran. The test
// drives it through window.installApp from Node (Playwright); everything it returns is plain data.
import { AuraLink } from '@auralink/sdk'

const video = document.getElementById('remote')
const received = []
const states = []
const tracks = []
let client
let current

function follow (call) {
  current = call
  call.addEventListener('state', (e) => { states.push(e.detail.state) })
  call.addEventListener('message', (e) => { received.push(e.detail.text) })
  call.addEventListener('track', (e) => {
    tracks.push(e.detail.track?.kind ?? 'unknown')
    video.srcObject = e.detail.stream
  })
}

window.installApp = {
  /** AuraLink.create({ relays }) and register(name); the PeerId. */
  async start (relay, name) {
    client = await AuraLink.create({ relays: [relay], iceServers: [] })
    await client.register(name)
    client.addEventListener('incoming', (e) => {
      follow(e.detail.call)
      void e.detail.call.accept({ audio: true, video: true })
    })
    return client.peerId.toString()
  },
  /** client.call(name) with audio and video, until connected; then the path the call took. */
  async call (name) {
    follow(await client.call(name, { audio: true, video: true }))
    await current.whenConnected()
    return (await current.stats()).path
  },
  state: () => current?.state ?? 'none',
  states: () => [...states],
  send: async (text) => { await current.send(text) },
  received: () => [...received],
  tracks: () => [...tracks],
  /** Frames the remote <video> element has shown. */
  frames: () => video.getVideoPlaybackQuality?.().totalVideoFrames ?? 0,
  stop: async () => { await current?.hangup().catch(() => {}); await client?.stop() }
}
