// Prints the benchmark results in bench/results/*.json as the markdown tables docs/benchmarks.md
// shows, so the docs can be refreshed from a run: node bench/report.mjs
import { readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { root } from './lib.mjs'

const load = (name) => {
  const file = join(root, 'bench/results', `${name}.json`)
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined
}
const row = (label, s) => `| ${label} | ${s.p50} | ${s.p95} | ${s.min} | ${s.max} | ${s.n} |`

const c = load('connect')
if (c) {
  console.log(`### bench/connect (${c.date}, ${c.machine.cpus} cores, Node ${c.machine.node})\n`)
  console.log('| ms | p50 | p95 | min | max | n |\n|---|---|---|---|---|---|')
  console.log(row('resolve `@bob.aura` at the directory (no cache)', c.resolve))
  console.log(row('dial (WebRTC via the relay) to first echoed byte', c.dialToFirstEchoedByte))
  console.log(row('resolve + dial + first byte', c.total))
  console.log(row('relay reservation (start to reserved)', c.reservation))
  if (c.slowDials) console.log(`\nDials over ${c.slowDials.overMs} ms: ${c.slowDials.count} of ${c.dialToFirstEchoedByte.n}.`)
  console.log(`\nFirst-try WebRTC failures: ${(c.firstTryFailureRate * 100).toFixed(1)}% of ${c.rounds} dials (retried: ${JSON.stringify(c.retryReasons ?? {})}); dials that failed after every retry: ${c.failures}; connection closes that took over 5 s: ${c.closeTimeouts ?? 'n/a'}.\n`)
}
const t = load('throughput')
if (t) {
  console.log(`### bench/throughput (${t.date}, ${t.megabytesPerRun} MiB per run, ${t.runs} runs, ${t.chunkBytes}-byte writes)\n`)
  console.log('| path | MiB/s (median) | runs |\n|---|---|---|')
  console.log(`| AuraLink stream (libp2p over WebRTC, direct) | ${t.auralinkStream} | ${t.all.auralinkStream.join(', ')} |`)
  console.log(`| raw RTCDataChannel (node-datachannel), same processes | ${t.rawDataChannel} | ${t.all.rawDataChannel.join(', ')} |`)
  console.log(`\nRatio AuraLink / raw: **${t.ratio}**.`)
}
