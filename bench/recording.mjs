/* global window, navigator, RTCPeerConnection -- the functions passed to page.evaluate() run in the page */
// bench/recording.mjs: what recording costs a relay on this machine, the figures an operator sizes
// a machine with (relay-node/README.md "Recording"). For each count N, N Chromium participants
// (fake camera and microphone) upload to one relay-node process started with --recording, in
// pairs (one recording per pair, each participant its own upload), for --seconds; then each
// stops and the relay merges the files. Reported per N: the relay's CPU (% of one core) and
// resident memory over the steady part, per upload; frames the pages sent against frames in the
// relay's file (what the relay lost); bytes written per minute per upload.
//
// The pages run on the same 2 cores as the relay: their encoders compete with it, and under load
// Chromium lowers its own frame rate ('cpu' quality limitation). So "frames lost" counts only what
// the pages sent and the file lacks; what Chromium did not send is reported apart (sent fps).
//
// With --streams, the same for streams out over RTMP: for each count S, S calls (2S participants)
// each streamed by the relay to Debian's nginx-rtmp on 127.0.0.1; reported per S: the CPU and
// memory of the relay and its ffmpeg processes (an encoder and a pusher per stream), and how fast
// the stream reaches a reader (ffprobe counting packets at nginx): a speed under 1 means the
// encoder does not keep up, and frames are late or dropped.
//
// Usage: scripts/netns.sh node bench/recording.mjs [--counts 1,2,4] [--seconds 20] [--size 640x360] [--fps 30] [--streams]
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createRecordingConsent, generateIdentityKey } from '@auralink/identity'
import { decodeRecordResponse, encodeRecordRequest, MAX_RECORD_RESPONSE_BYTES, RECORD_PROTOCOL } from '@auralink/protocol'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { launchBrowser } from '../e2e/harness/browser.ts'
import { ffprobe } from '../e2e/harness/ffprobe.ts'
import { startNginxRtmp } from '../test-utils/nginx-rtmp.ts'
import { procCpuSeconds, procRssBytes, procTree, requireNetns, round, startRelay, writeResult } from './lib.mjs'

requireNetns('bench/recording.mjs')
const { values: opts } = parseArgs({
  options: {
    counts: { type: 'string', default: '1,2,4' },
    seconds: { type: 'string', default: '20' },
    size: { type: 'string', default: '640x360' },
    fps: { type: 'string', default: '30' },
    streams: { type: 'boolean', default: false }
  }
})
const counts = opts.counts.split(',').map(Number)
const seconds = Number(opts.seconds)
const [width, height] = opts.size.split('x').map(Number)
const fps = Number(opts.fps)
if (counts.some((n) => !Number.isInteger(n) || n < 1 || n > 32) || !(seconds >= 5 && seconds <= 600) || !(width > 0 && height > 0) || !(fps > 0 && fps <= 60)) {
  console.error('usage: scripts/netns.sh node bench/recording.mjs [--counts 1,2,4 (each 1-32)] [--seconds 5-600] [--size WxH] [--fps 1-60]')
  process.exit(2)
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// a secure origin (127.0.0.1) for getUserMedia
const pageServer = createServer((_req, res) => { res.setHeader('content-type', 'text/html').end('<!doctype html><title>recording bench</title>') })
await new Promise((resolve) => pageServer.listen(0, '127.0.0.1', resolve))
const pageUrl = `http://127.0.0.1:${pageServer.address().port}/`
const browser = await launchBrowser({ log: () => {} })

/** One participant: a page with the fake camera offering its tracks, and its own libp2p node. */
async function participant (label) {
  const page = await browser.newPage(label)
  await page.goto(pageUrl)
  const offer = await page.evaluate(async ({ width, height, fps }) => {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width, height, frameRate: fps } })
    const pc = new RTCPeerConnection({ iceServers: [] })
    window.pc = pc
    for (const t of stream.getTracks()) pc.addTrack(t, stream)
    await pc.setLocalDescription(await pc.createOffer())
    await new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') resolve()
      pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve() })
    })
    return pc.localDescription.sdp
  }, { width, height, fps })
  const privateKey = await generateIdentityKey()
  const node = await createLibp2p({ privateKey, transports: [webSockets()], connectionEncrypters: [noise()], streamMuxers: [yamux()], services: { identify: identify() } })
  return { page, offer, privateKey, node }
}

/** Frames the page's encoder sent so far (outbound-rtp). */
const framesSent = async (p) => p.page.evaluate(async () => {
  let n = 0
  for (const s of (await window.pc.getStats()).values()) if (s.type === 'outbound-rtp' && s.kind === 'video') n += s.framesSent ?? 0
  return n
})

/** Dials the relay for `p`, sends its request, sets the relay's answer in its page. */
async function upload (relay, p, streamUrl) {
  const signal = AbortSignal.timeout(30_000)
  p.stream = await p.node.dialProtocol(multiaddr(relay.addr), RECORD_PROTOCOL, { signal })
  p.lp = lpStream(p.stream, { maxDataLength: MAX_RECORD_RESPONSE_BYTES })
  await p.lp.write(encodeRecordRequest({ consents: p.consents, offerSdp: p.offer, tracks: 2, ...(streamUrl !== undefined ? { streamUrl } : {}) }), { signal })
  const res = decodeRecordResponse((await p.lp.read({ signal })).subarray())
  if (res.result !== 'ok') throw new Error(`the relay refused an upload: ${res.result} ${res.message}`)
  await p.page.evaluate(async (sdp) => { await window.pc.setRemoteDescription({ type: 'answer', sdp }) }, res.answerSdp)
}

/** CPU seconds and resident bytes of a process and everything below it. */
function treeCpu (pid) {
  return procTree(pid).reduce((sum, p) => { try { return sum + procCpuSeconds(p) } catch { return sum } }, 0)
}
function treeRss (pid) {
  return procTree(pid).reduce((sum, p) => { try { return sum + procRssBytes(p) } catch { return sum } }, 0)
}

/** ffprobe reading `seconds` of the stream at `url` (packets counted, nothing decoded): the stream time read over the wall time it took. */
async function readSpeed (url, seconds) {
  const { spawn } = await import('node:child_process')
  const t0 = performance.now()
  const out = await new Promise((resolve, reject) => {
    const p = spawn('ffprobe', ['-v', 'error', '-rw_timeout', '5000000', '-read_intervals', `%+${seconds}`, '-count_packets', '-show_entries', 'stream=codec_type,nb_read_packets', '-of', 'json', url], { stdio: ['ignore', 'pipe', 'pipe'] })
    let o = ''
    let e = ''
    p.stdout.on('data', (d) => { o += d })
    p.stderr.on('data', (d) => { e += d })
    p.on('exit', (code) => {
      if (code === 0) resolve(JSON.parse(o))
      else reject(new Error(`ffprobe ${url}: ${e}`))
    })
  })
  const wall = (performance.now() - t0) / 1000
  const video = Number(out.streams.find((x) => x.codec_type === 'video')?.nb_read_packets ?? 0)
  return { wall, video, speed: seconds / wall }
}

async function streamRows () {
  const nginx = await startNginxRtmp(19360)
  const rows = []
  try {
    for (const s of counts) {
      const relay = await startRelay({ args: ['--recording', '--recordings-min-free-bytes', '0', '--max-recordings', '64', '--max-streams', '64', '--stream-host', `127.0.0.1:${nginx.port}`] })
      const relayId = peerIdFromString(relay.addr.split('/p2p/')[1])
      const pid = relay.child.pid
      const parts = []
      try {
        const urls = []
        for (let i = 0; i < s; i++) {
          const pair = [await participant(`s${i}a`), await participant(`s${i}b`)]
          const url = nginx.url(`bench-${i}-${randomBytes(4).toString('hex')}`)
          const init = { recordingId: randomBytes(16).toString('hex'), callId: randomBytes(16).toString('hex'), participants: pair.map((p) => peerIdFromPrivateKey(p.privateKey)), relay: relayId, kind: 'stream', streamUrl: url }
          const consents = await Promise.all(pair.map(async (p) => (await createRecordingConsent(p.privateKey, init)).bytes))
          for (const p of pair) { p.consents = consents; p.url = url }
          parts.push(...pair)
          urls.push(url)
        }
        const rssBefore = treeRss(pid)
        for (const p of parts) await upload(relay, p, p.url)
        // every upload hears "live" once its stream is taken by nginx
        await Promise.all(parts.map(async (p) => {
          for (;;) {
            const m = decodeRecordResponse((await p.lp.read({ signal: AbortSignal.timeout(60_000) })).subarray())
            if (m.streamState === 'live') return
            if (m.startedAt === 0 && m.streamState === undefined) throw new Error(`a stream upload ended: ${m.result} ${m.message}`)
          }
        }))
        await sleep(2000)
        const cpu0 = treeCpu(pid)
        const t0 = performance.now()
        let rssPeak = 0
        const sampler = setInterval(() => { rssPeak = Math.max(rssPeak, treeRss(pid)) }, 1000)
        const reads = await Promise.all(urls.map(async (u) => readSpeed(u, seconds)))
        clearInterval(sampler)
        const wall = (performance.now() - t0) / 1000
        const cpu = (treeCpu(pid) - cpu0) / wall
        for (const p of parts) await p.stream.close({ signal: AbortSignal.timeout(10_000) }).catch(() => {})
        const row = {
          streams: s,
          uploads: parts.length,
          cpuPercentOfOneCore: round(cpu * 100, 1),
          cpuPercentPerStream: round(cpu * 100 / s, 1),
          rssMiB: round(rssPeak / 2 ** 20, 1),
          rssMiBPerStream: round((rssPeak - rssBefore) / 2 ** 20 / s, 1),
          slowestSpeed: round(Math.min(...reads.map((r) => r.speed)), 2),
          videoPacketsPerSecond: round(Math.min(...reads.map((r) => r.video / r.wall)), 1)
        }
        rows.push(row)
        console.log(JSON.stringify(row))
      } finally {
        for (const p of parts) {
          await p.node.stop().catch(() => {})
          await p.page.context().close().catch(() => {})
        }
        await relay.stop()
      }
    }
  } finally {
    await nginx.close()
  }
  return rows
}

if (opts.streams) {
  const rows = await streamRows()
  await browser.close()
  pageServer.close()
  console.log(`\nstreams out over RTMP (side by side 1280x360, 25 fps, H.264 + AAC) to nginx-rtmp, ${width}x${height} cameras, ${seconds} s read at nginx, this machine (the pages share its cores)`)
  console.log('| streams | uploads | relay + ffmpeg CPU (% of a core) | per stream | RSS MiB | per stream | slowest speed at nginx | video packets/s |')
  console.log('|---|---|---|---|---|---|---|---|')
  for (const r of rows) console.log(`| ${r.streams} | ${r.uploads} | ${r.cpuPercentOfOneCore} | ${r.cpuPercentPerStream} | ${r.rssMiB} | ${r.rssMiBPerStream} | ${r.slowestSpeed} | ${r.videoPacketsPerSecond} |`)
  writeResult('recording-streams', { options: { counts, seconds, width, height, fps }, rows })
  process.exit(0)
}

const rows = []
for (const n of counts) {
  const relay = await startRelay({ args: ['--recording', '--recordings-min-free-bytes', '0', '--max-recordings', '64', '--recording-grace-ms', '1000'] })
  const relayId = peerIdFromString(relay.addr.split('/p2p/')[1])
  const pid = relay.child.pid
  const parts = []
  try {
    for (let i = 0; i < n; i++) parts.push(await participant(`p${i}`))
    // pairs share a recording (an odd one out records with a partner who never uploads)
    const recordings = []
    for (let i = 0; i < n; i += 2) {
      const pair = parts.slice(i, i + 2)
      const keys = pair.map((p) => p.privateKey)
      if (keys.length === 1) keys.push(await generateIdentityKey())
      const init = { recordingId: randomBytes(16).toString('hex'), callId: randomBytes(16).toString('hex'), participants: keys.map((k) => peerIdFromPrivateKey(k)), relay: relayId }
      const consents = await Promise.all(keys.map(async (k) => (await createRecordingConsent(k, init)).bytes))
      recordings.push(init.recordingId)
      for (const p of pair) p.consents = consents
    }
    const rssBefore = procRssBytes(pid)
    for (const p of parts) await upload(relay, p)
    for (const p of parts) {
      const started = decodeRecordResponse((await p.lp.read({ signal: AbortSignal.timeout(30_000) })).subarray())
      if (started.startedAt === 0) throw new Error(`no "recording" for an upload: ${started.result} ${started.message}`)
    }
    // steady state: 2 s after the last upload began
    await sleep(2000)
    const sentBefore = await Promise.all(parts.map(framesSent))
    const cpu0 = procCpuSeconds(pid)
    const t0 = performance.now()
    let rssPeak = 0
    for (let left = seconds * 1000; left > 0; left -= 1000) {
      await sleep(Math.min(1000, left))
      rssPeak = Math.max(rssPeak, procRssBytes(pid))
    }
    const wall = (performance.now() - t0) / 1000
    const cpu = (procCpuSeconds(pid) - cpu0) / wall
    const sentAfter = await Promise.all(parts.map(framesSent))
    const sent = sentAfter.reduce((a, b) => a + b, 0)
    const sentSteady = sentAfter.reduce((a, b, i) => a + b - sentBefore[i], 0)
    for (const p of parts) await p.stream.close({ signal: AbortSignal.timeout(10_000) }).catch(() => {})
    for (const p of parts) await p.lp.read({ signal: AbortSignal.timeout(20_000) }).catch(() => {})
    // the relay merges each recording; read what it wrote
    const dir = join(relay.dataDir, 'recordings')
    let recorded = 0
    let bytes = 0
    let mediaSeconds = 0
    for (const id of recordings) {
      let sidecar
      for (let i = 0; i < 300; i++) {
        sidecar = JSON.parse(await readFile(join(dir, `${id}.json`), 'utf8').catch(() => '{}'))
        if (sidecar.status === 'complete' || sidecar.status === 'failed') break
        await sleep(100)
      }
      if (sidecar.status !== 'complete') throw new Error(`recording ${id} did not finish: ${JSON.stringify(sidecar).slice(0, 300)}`)
      const probe = ffprobe(join(dir, `${id}.webm`))
      for (const s of probe.streams) if (s.codec_type === 'video') recorded += Number(s.nb_read_frames)
      bytes += sidecar.bytes
      for (const part of sidecar.parts) mediaSeconds += (Date.parse(part.endedAt) - Date.parse(part.startedAt)) / 1000
    }
    const row = {
      uploads: n,
      relayCpuPercentOfOneCore: round(cpu * 100, 1),
      relayCpuPercentPerUpload: round(cpu * 100 / n, 1),
      relayRssMiB: round(rssPeak / 2 ** 20, 1),
      relayRssMiBPerUpload: round((rssPeak - rssBefore) / 2 ** 20 / n, 1),
      sentFps: round(sentSteady / wall / n, 1),
      framesSent: sent,
      framesRecorded: recorded,
      framesLost: Math.max(0, sent - recorded),
      lostPercent: round(Math.max(0, sent - recorded) / Math.max(1, sent) * 100, 2),
      bytesPerMinutePerUpload: Math.round(bytes / Math.max(1, mediaSeconds) * 60)
    }
    rows.push(row)
    console.log(JSON.stringify(row))
  } finally {
    for (const p of parts) {
      await p.node.stop().catch(() => {})
      await p.page.context().close().catch(() => {})
    }
    await relay.stop()
  }
}
await browser.close()
pageServer.close()

console.log(`\nrecording at ${width}x${height}, ${fps} fps asked, ${seconds} s steady, this machine (the pages share its cores)`)
console.log('| uploads | relay CPU (% of a core) | per upload | relay RSS MiB | per upload | pages sent fps | frames sent | recorded | lost | MB/min per upload |')
console.log('|---|---|---|---|---|---|---|---|---|---|')
for (const r of rows) {
  console.log(`| ${r.uploads} | ${r.relayCpuPercentOfOneCore} | ${r.relayCpuPercentPerUpload} | ${r.relayRssMiB} | ${r.relayRssMiBPerUpload} | ${r.sentFps} | ${r.framesSent} | ${r.framesRecorded} | ${r.framesLost} (${r.lostPercent}%) | ${round(r.bytesPerMinutePerUpload / 1e6, 2)} |`)
}
// the default size writes recording.json; another size writes recording-<W>x<H>.json beside it
writeResult(width === 640 && height === 360 ? 'recording' : `recording-${width}x${height}`, { options: { counts, seconds, width, height, fps }, rows })
