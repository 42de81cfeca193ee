/* global window -- the functions passed to page.evaluate() run in the page */
// bench/browser-throughput: MB/s of a 5 MB transfer between two Chromium pages, acknowledged by
// the receiver, four ways in the same run: AuraLink's call.sendFile (the file protocol on a
// libp2p stream of the direct WebRTC connection; SHA-256 on both sides; a data-only call), the
// same bytes pushed on a plain libp2p stream of that connection (64 KiB sends, no file protocol,
// no hashing: what the stream itself does), a raw RTCDataChannel between the same two pages, and
// PeerJS's reliable binary data connection between two pages of the same browser. Runs
// interleave. Ratios: AuraLink/raw, AuraLink/PeerJS and AuraLink/stream (the file protocol's share).
// Beside each transfer's time, the CPU that all of Chromium's processes used for it (user + system,
// from /proc; the idle rate measured before the runs taken off): on a busy shared machine the
// times swing with the load, the CPU a transfer costs much less.
// Run: scripts/netns.sh node bench/browser-throughput.mjs [--mb 5] [--runs 5]
import { readdirSync, readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { browserBench, ok } from './browser-lib.mjs'
import { procCpuSeconds, progress, requireNetns, round, summary, writeResult } from './lib.mjs'

requireNetns('browser-throughput')
const { values } = parseArgs({ options: { mb: { type: 'string', default: '5' }, runs: { type: 'string', default: '5' } } })
const size = Math.round(Number(values.mb) * 1024 * 1024)
const runs = Number(values.runs)
const mbps = (ms) => size / 2 ** 20 / (ms / 1000)

const loadBefore = loadavg()
/** CPU seconds used so far by this process's descendants whose command is Chromium's (Linux /proc). */
function chromiumCpuSeconds () {
  const procs = []
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      procs.push({ pid: Number(d), ppid, chromium: readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('chrom') })
    } catch {} // gone meanwhile
  }
  const ours = new Set([process.pid])
  for (let grew = true; grew;) {
    grew = false
    for (const p of procs) if (!ours.has(p.pid) && ours.has(p.ppid)) { ours.add(p.pid); grew = true }
  }
  let sum = 0
  for (const p of procs) {
    if (p.chromium && ours.has(p.pid)) { try { sum += procCpuSeconds(p.pid) } catch {} }
  }
  return sum
}

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

  const ways = {
    auralink: async () => ok(await alice.evaluate(async (n) => window.sdkPage.timedSendFile(n), size), 'sendFile').ms,
    stream: async () => ok(await alice.evaluate(async (n) => window.sdkPage.timedStreamPush(n), size), 'stream push').ms,
    raw: async () => alice.evaluate(async (n) => window.sdkPage.raw.send(n), size),
    peerjs: async () => pjA.evaluate(async (n) => window.peerjsPage.timedSend(n), size)
  }
  const settle = async () => new Promise((resolve) => setTimeout(resolve, 300))
  // Chromium's CPU per second with nothing to do, to take off each transfer's figure
  await settle()
  const idle0 = chromiumCpuSeconds()
  const idleT0 = performance.now()
  await new Promise((resolve) => setTimeout(resolve, 2000))
  const idleRate = (chromiumCpuSeconds() - idle0) / ((performance.now() - idleT0) / 1000)
  const results = { auralink: [], stream: [], raw: [], peerjs: [] }
  const cpu = { auralink: [], stream: [], raw: [], peerjs: [] }
  for (let i = 1; i <= runs; i++) {
    for (const [k, run] of Object.entries(ways)) {
      await settle()
      const c0 = chromiumCpuSeconds()
      const t0 = performance.now()
      results[k].push(mbps(await run()))
      // the receiver's work after its acknowledgement (the SDK page hashes the file once more) counts too
      await settle()
      cpu[k].push(1000 * (chromiumCpuSeconds() - c0 - idleRate * (performance.now() - t0) / 1000))
    }
    progress('runs', i, runs)
  }
  const s = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, { ...summary(v), samples: v.map((x) => round(x)), cpuMs: { ...summary(cpu[k]), samples: cpu[k].map((x) => round(x, 0)) } }]))
  const result = {
    bytes: size,
    runs,
    unit: 'MiB/s, sender start to receiver acknowledgement; cpuMs: ms of CPU, all Chromium processes, per transfer',
    chromiumIdleCpuMsPerSecond: round(idleRate * 1000),
    ...s,
    ratio: {
      auralinkToRaw: round(s.auralink.p50 / s.raw.p50),
      auralinkToPeerjs: round(s.auralink.p50 / s.peerjs.p50),
      auralinkToStream: round(s.auralink.p50 / s.stream.p50),
      streamToRaw: round(s.stream.p50 / s.raw.p50)
    },
    cpuRatio: {
      auralinkToRaw: round(s.auralink.cpuMs.p50 / s.raw.cpuMs.p50),
      auralinkToPeerjs: round(s.auralink.cpuMs.p50 / s.peerjs.cpuMs.p50),
      auralinkToStream: round(s.auralink.cpuMs.p50 / s.stream.cpuMs.p50),
      streamToRaw: round(s.stream.cpuMs.p50 / s.raw.cpuMs.p50)
    },
    loadAverage: { before: loadBefore.map((x) => round(x)), after: loadavg().map((x) => round(x)) }
  }
  for (const k of ['auralink', 'stream', 'raw', 'peerjs']) console.log(`${k.padEnd(8)} p50 ${s[k].p50} MiB/s (min ${s[k].min}, max ${s[k].max}); Chromium CPU per transfer p50 ${s[k].cpuMs.p50} ms`)
  console.log(`ratio of medians: AuraLink/raw ${result.ratio.auralinkToRaw}, AuraLink/PeerJS ${result.ratio.auralinkToPeerjs}, AuraLink/stream ${result.ratio.auralinkToStream}, stream/raw ${result.ratio.streamToRaw}`)
  console.log(`CPU per transfer, ratio of medians: AuraLink/raw ${result.cpuRatio.auralinkToRaw}, AuraLink/PeerJS ${result.cpuRatio.auralinkToPeerjs}, AuraLink/stream ${result.cpuRatio.auralinkToStream}, stream/raw ${result.cpuRatio.streamToRaw}`)
  writeResult('browser-throughput', result)
} finally {
  await bench.close()
}
