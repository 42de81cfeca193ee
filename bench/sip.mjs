// bench/sip.mjs: what bridged phone calls cost a relay on this machine, and the delay the bridge
// adds (relay-node/README.md "SIP gateway"). For each count N, N calls at once through one
// relay-node process started with --sip-listen, to SIPp (Debian's sip-tester, which no one here
// wrote) answering every call and echoing its RTP back (-rtp_echo). The callers are WebRTC peers
// in this process (werift, Opus), one client holding a name at the relay: each sends a 1 kHz tone
// burst (100 ms) every second, which goes caller -> relay (Opus to G.711) -> SIPp (echo) -> relay
// (G.711 to Opus) -> caller. Reported per N, over the steady part of each run:
//   - round trip: from sending a burst's first frame to its first loud frame coming back (the
//     bridge twice, both jitter buffers, SIPp's echo); the bridge's one-way share is about half;
//   - packets back per call against the 50 a second sent, and inter-arrival jitter (p95 of the
//     gap's distance from 20 ms);
//   - the relay process's CPU (% of one core) and per call; its bridges' own counts (ticks with no
//     packet, ticks skipped for a stalled event loop) from its log.
// Audio "breaks" at the first N where a call gets under 98% of its packets back, its bursts do
// not all come back, or the round trip's p95 passes 400 ms.
//
// The callers, their Opus (the relay's own Opus8k, in this process) and SIPp run on the same 2
// cores as the relay: they compete with it.
//
// Usage: scripts/netns.sh node bench/sip.mjs [--counts 1,4,8,16,32,48] [--seconds 15]
import { spawn } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { parseArgs } from 'node:util'
import { createMeshNode } from '@auralink/mesh'
import { decodeSipEvent, encodeSipControl, encodeSipRequest, MAX_SIP_MESSAGE_BYTES, SIP_PROTOCOL } from '@auralink/protocol'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters, RtpHeader, RtpPacket } from 'werift'
import { Opus8k } from '../relay-node/src/sip/opus8k.ts'
import { percentile, procCpuSeconds, requireNetns, round, startRelay, writeResult } from './lib.mjs'

requireNetns('sip')
const { values: opts } = parseArgs({ options: { counts: { type: 'string', default: '1,4,8,16,32,48' }, seconds: { type: 'string', default: '15' } } })
const counts = opts.counts.split(',').map(Number)
const seconds = Number(opts.seconds)
if (counts.some((n) => !Number.isInteger(n) || n < 1 || n > 64) || !(seconds >= 5 && seconds <= 600)) {
  console.error('usage: scripts/netns.sh node bench/sip.mjs [--counts 1,4,8,16,32,48 (each 1-64)] [--seconds 5-600]')
  process.exit(2)
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function freeUdpPort () {
  const s = createSocket('udp4')
  await new Promise((resolve) => s.bind(0, '127.0.0.1', resolve))
  const port = s.address().port
  await new Promise((resolve) => s.close(resolve))
  return port
}

// SIPp: answers every INVITE (its built-in uas scenario, PCMU) and echoes RTP on its media port
const sippPort = await freeUdpPort()
const mediaPort = 20000 + Math.floor(Math.random() * 20000) * 2
const sipp = spawn('sipp', ['-sn', 'uas', '-i', '127.0.0.1', '-p', String(sippPort), '-mi', '127.0.0.1', '-mp', String(mediaPort), '-rtp_echo', '-nostdin'], { stdio: ['ignore', 'ignore', 'pipe'] })
let sippErr = ''
sipp.stderr.on('data', (d) => { sippErr += String(d) })
await sleep(500)
if (sipp.exitCode !== null) throw new Error(`sipp exited: ${sippErr}`)

const sipListen = `127.0.0.1:${await freeUdpPort()}`
const relay = await startRelay({ args: ['--log-level', 'info', '--named-min-age-ms', '0', '--sip-listen', sipListen, '--sip-trunk', `sipp=127.0.0.1:${sippPort}`, '--max-sip-calls', '128', '--max-sip-calls-per-peer', '128', '--sip-call-rate-limit', '100000'] })
let relayLog = ''
relay.child.stdout.on('data', (d) => { relayLog += String(d) })
const client = await createMeshNode({ relays: [relay.addr] })
await client.start()
await client.waitForReservation({ signal: AbortSignal.timeout(20_000) })
await client.register('@bench-sip.aura')

const FRAME = 160
const BURST_EVERY = 50 // ticks: one burst a second
const BURST_TICKS = 5 // 100 ms of tone

/** One bridged call: a werift peer sending the tone bursts, counting and timing what comes back. */
async function placeCall (i) {
  const pc = new RTCPeerConnection({ iceServers: [], codecs: { audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })], video: [] } })
  const track = new MediaStreamTrack({ kind: 'audio' })
  const transceiver = pc.addTransceiver(track, { direction: 'sendrecv' })
  const opus = new Opus8k()
  const call = { i, pc, transceiver, opus, arrivals: [], loud: false, burstSentAt: undefined, roundTrips: [], burstsSent: 0, burstsBack: 0, seq: 0, ts: 0, stream: undefined, ended: undefined }
  pc.onTrack.subscribe((t) => {
    t.onReceiveRtp.subscribe((rtp) => {
      const at = performance.now()
      call.arrivals.push(at)
      let pcm
      try { pcm = opus.decode(rtp.payload) } catch { return }
      const x = pcm
      let sum = 0
      for (const v of x) sum += v * v
      const loud = Math.sqrt(sum / Math.max(1, x.length)) > 2000
      if (loud && !call.loud && call.burstSentAt !== undefined) {
        call.roundTrips.push(at - call.burstSentAt)
        call.burstsBack++
        call.burstSentAt = undefined
      }
      call.loud = loud
    })
  })
  await pc.setLocalDescription(await pc.createOffer())
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') resolve()
    pc.iceGatheringStateChange.subscribe((s) => { if (s === 'complete') resolve() })
  })
  const stream = await client.libp2p.dialProtocol(multiaddr(relay.addr), SIP_PROTOCOL)
  const lp = lpStream(stream, { maxDataLength: MAX_SIP_MESSAGE_BYTES })
  await lp.write(encodeSipRequest({ target: `sip:echo${i}@127.0.0.1:${sippPort}`, offerSdp: pc.localDescription.sdp }))
  const first = decodeSipEvent((await lp.read()).subarray())
  if (first.answerSdp === '') throw new Error(`call ${i} refused: ${first.endReason} ${first.message}`)
  await pc.setRemoteDescription({ type: 'answer', sdp: first.answerSdp })
  call.stream = stream
  call.lp = lp
  call.connected = (async () => {
    for (;;) {
      const m = decodeSipEvent((await lp.read()).subarray())
      if (m.state === 'connected') return
      if (m.state === 'ended') throw new Error(`call ${i} ended: ${m.endReason} ${m.status} ${m.message}`)
    }
  })()
  return call
}

/** 20 ms of the burst's tone (1 kHz) or silence. */
function frame (tick) {
  const pcm = new Int16Array(FRAME)
  if (tick % BURST_EVERY < BURST_TICKS) for (let j = 0; j < FRAME; j++) pcm[j] = Math.round(10000 * Math.sin(2 * Math.PI * 1000 * (tick * FRAME + j) / 8000))
  return pcm
}

/** Sends a frame a tick to every call, by the clock; bursts timed. Returns stop(). */
function sendLoop (calls) {
  const t0 = performance.now()
  let tick = 0
  const timer = setInterval(() => {
    const due = Math.floor((performance.now() - t0) / 20)
    for (; tick < due; tick++) {
      const pcm = frame(tick)
      const burstStart = tick % BURST_EVERY === 0
      for (const c of calls) {
        const payload = c.opus.encode(pcm)
        const rtp = new RtpPacket(new RtpHeader({ payloadType: 111, sequenceNumber: c.seq, timestamp: c.ts, marker: false }), Buffer.from(payload))
        c.seq = (c.seq + 1) & 0xffff
        c.ts = (c.ts + 960) >>> 0
        void c.transceiver.sender.sendRtp(rtp).catch(() => {})
        if (burstStart) {
          // a burst whose echo did not come before the next one is counted lost
          c.burstSentAt = performance.now()
          c.burstsSent++
        }
      }
    }
  }, 10)
  return () => { clearInterval(timer) }
}

const runs = []
let brokeAt
for (const n of counts) {
  console.error(`[sip bench] ${n} call(s) for ${seconds} s`)
  const logFrom = relayLog.length
  const calls = await Promise.all(Array.from({ length: n }, async (_, i) => placeCall(runs.length * 1000 + i)))
  await Promise.all(calls.map((c) => c.connected))
  const stop = sendLoop(calls)
  // the first 2 s settle (jitter buffers prime, ICE and DTLS finish): measured after
  await sleep(2_000)
  for (const c of calls) { c.arrivals.length = 0; c.roundTrips.length = 0; c.burstsSent = 0; c.burstsBack = 0 }
  const cpu0 = procCpuSeconds(relay.child.pid)
  const t0 = performance.now()
  await sleep(seconds * 1000)
  const wall = (performance.now() - t0) / 1000
  const cpu = (procCpuSeconds(relay.child.pid) - cpu0) / wall * 100
  stop()
  const perCall = calls.map((c) => {
    const gaps = c.arrivals.slice(1).map((t, k) => Math.abs(t - c.arrivals[k] - 20))
    return { packetsPerSecond: c.arrivals.length / wall, jitterP95Ms: percentile(gaps, 95), roundTripsMs: c.roundTrips, burstsSent: c.burstsSent, burstsBack: c.burstsBack }
  })
  for (const c of calls) {
    await c.lp.write(encodeSipControl({ hangup: true })).catch(() => {})
  }
  await sleep(1_000)
  for (const c of calls) { await c.pc.close(); c.opus.destroy(); c.stream.abort(new Error('done')) }
  // the relay's own counts, from its "sip call ended" lines of this run
  const ends = relayLog.slice(logFrom).split('\n').filter((l) => l.includes('"sip call ended"')).map((l) => JSON.parse(l))
  const bridge = { fromClientMissing: 0, fromClientPlayed: 0, toClientMissing: 0, toClientPlayed: 0, skippedTicks: 0 }
  for (const e of ends) {
    bridge.fromClientMissing += e.bridge?.fromClient?.missing ?? 0
    bridge.fromClientPlayed += e.bridge?.fromClient?.played ?? 0
    bridge.toClientMissing += e.bridge?.toClient?.missing ?? 0
    bridge.toClientPlayed += e.bridge?.toClient?.played ?? 0
    bridge.skippedTicks += e.bridge?.skippedTicks ?? 0
  }
  const rtts = perCall.flatMap((c) => c.roundTripsMs)
  const run = {
    calls: n,
    relayCpuPercent: round(cpu, 1),
    relayCpuPercentPerCall: round(cpu / n, 2),
    packetsBackPerSecond: { min: round(Math.min(...perCall.map((c) => c.packetsPerSecond)), 1), p50: round(percentile(perCall.map((c) => c.packetsPerSecond), 50), 1) },
    jitterP95Ms: round(Math.max(...perCall.map((c) => c.jitterP95Ms)), 1),
    roundTripMs: { p50: round(percentile(rtts, 50), 0), p95: round(percentile(rtts, 95), 0), n: rtts.length },
    burstsBack: `${perCall.reduce((a, c) => a + c.burstsBack, 0)} of ${perCall.reduce((a, c) => a + c.burstsSent, 0)}`,
    endsLogged: ends.length,
    bridge
  }
  const lost = perCall.some((c) => c.packetsPerSecond < 49 || c.burstsBack < c.burstsSent - 1)
  run.audioBreaks = lost || run.roundTripMs.p95 > 400
  console.error(`[sip bench] ${JSON.stringify(run)}`)
  runs.push(run)
  if (run.audioBreaks) { brokeAt = n; break }
  await sleep(1_000)
}

await client.stop()
await relay.stop()
sipp.kill('SIGTERM')
writeResult('sip', { seconds, burstEverySeconds: BURST_EVERY / 50, runs, audioBreaksAt: brokeAt ?? null, note: 'callers (werift, Opus), SIPp (echo) and the relay share the machine' })
for (const r of runs) console.log(`${r.calls} call(s): relay CPU ${r.relayCpuPercent}% of a core (${r.relayCpuPercentPerCall}% per call); packets back per call min ${r.packetsBackPerSecond.min}/s of 50; jitter p95 ${r.jitterP95Ms} ms; round trip p50 ${r.roundTripMs.p50} ms, p95 ${r.roundTripMs.p95} ms; bursts back ${r.burstsBack}${r.audioBreaks ? '; AUDIO BREAKS' : ''}`)
process.exit(0)
