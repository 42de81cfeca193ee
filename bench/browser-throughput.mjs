/* global window -- the functions passed to page.evaluate() run in the page */
// bench/browser-throughput: MB/s of a 5 MB transfer between two Chromium pages, acknowledged by
// the receiver, four ways in the same run: AuraLink's call.sendFile (the file protocol on a
// libp2p stream of the direct WebRTC connection; SHA-256 on both sides; a data-only call), the
// same bytes pushed on a plain libp2p stream of that connection (64 KiB sends, no file protocol,
// no hashing: what the stream itself does), a raw RTCDataChannel between the same two pages, and
// PeerJS's reliable binary data connection between two pages of the same browser. Runs
// interleave. Ratios: AuraLink/raw, AuraLink/PeerJS and AuraLink/stream (the file protocol's share).
// Run: scripts/netns.sh node bench/browser-throughput.mjs [--mb 5] [--runs 5]
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { browserBench, ok } from './browser-lib.mjs'
import { progress, requireNetns, round, summary, writeResult } from './lib.mjs'

requireNetns('browser-throughput')
const { values } = parseArgs({ options: { mb: { type: 'string', default: '5' }, runs: { type: 'string', default: '5' } } })
const size = Math.round(Number(values.mb) * 1024 * 1024)
const runs = Number(values.runs)
const mbps = (ms) => size / 2 ** 20 / (ms / 1000)

const loadBefore = loadavg()
const bench = await browserBench()
try {
  const alice = await bench.auralink('@alice-tput.aura')
  const bob = await bench.auralink('@bob-tput.aura')
  ok(await alice.evaluate(async () => window.sdkPage.dataCall('@bob-tput.aura')), 'data call')
  // the raw channel between the same two pages, signalled through Node
  const offer = await alice.evaluate(async () => window.sdkPage.raw.offer())
  const answer = await bob.evaluate(async (o) => window.sdkPage.raw.answer(o), offer)
  await alice.evaluate(async (a) => window.sdkPage.raw.accept(a), answer)
  const pjA = await bench.peerjs('alice-tput')
  await bench.peerjs('bob-tput')
  await pjA.evaluate(async () => window.peerjsPage.connect('bob-tput'))

  const results = { auralink: [], stream: [], raw: [], peerjs: [] }
  for (let i = 1; i <= runs; i++) {
    results.auralink.push(mbps(ok(await alice.evaluate(async (n) => window.sdkPage.timedSendFile(n), size), 'sendFile').ms))
    results.stream.push(mbps(ok(await alice.evaluate(async (n) => window.sdkPage.timedStreamPush(n), size), 'stream push').ms))
    results.raw.push(mbps(await alice.evaluate(async (n) => window.sdkPage.raw.send(n), size)))
    results.peerjs.push(mbps(await pjA.evaluate(async (n) => window.peerjsPage.timedSend(n), size)))
    progress('runs', i, runs)
  }
  const s = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, { ...summary(v), samples: v.map((x) => round(x)) }]))
  const result = {
    bytes: size,
    runs,
    unit: 'MiB/s, sender start to receiver acknowledgement',
    ...s,
    ratio: {
      auralinkToRaw: round(s.auralink.p50 / s.raw.p50),
      auralinkToPeerjs: round(s.auralink.p50 / s.peerjs.p50),
      auralinkToStream: round(s.auralink.p50 / s.stream.p50),
      streamToRaw: round(s.stream.p50 / s.raw.p50)
    },
    loadAverage: { before: loadBefore.map((x) => round(x)), after: loadavg().map((x) => round(x)) }
  }
  for (const k of ['auralink', 'stream', 'raw', 'peerjs']) console.log(`${k.padEnd(8)} p50 ${s[k].p50} MiB/s (min ${s[k].min}, max ${s[k].max})`)
  console.log(`ratio of medians: AuraLink/raw ${result.ratio.auralinkToRaw}, AuraLink/PeerJS ${result.ratio.auralinkToPeerjs}, AuraLink/stream ${result.ratio.auralinkToStream}, stream/raw ${result.ratio.streamToRaw}`)
  writeResult('browser-throughput', result)
} finally {
  await bench.close()
}
