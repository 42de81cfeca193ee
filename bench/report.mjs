// Prints the benchmark results in bench/results/*.json as the markdown tables docs/benchmarks.md
// shows, so the docs can be refreshed from a run: node bench/report.mjs
import { readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { root, round } from './lib.mjs'

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
const cr = load('create')
if (cr) {
  // create-before.json: the same bench on the code before issue 14 (create() waited out a 1 s address-manager debounce)
  const before = load('create-before')
  console.log(`### bench/create (${cr.date}, ${cr.machine.cpus} cores, Node ${cr.machine.node})\n`)
  console.log('| ms | p50 | p95 | min | max | n |\n|---|---|---|---|---|---|')
  console.log(row('`AuraLink.create()` to a reservation on a loopback relay', cr.createMs))
  if (before) console.log(row(`the same before issue 14 (${before.date.slice(0, 10)})`, before.createMs))
  console.log('')
}
const t = load('throughput')
if (t) {
  console.log(`### bench/throughput (${t.date}, ${t.megabytesPerRun} MiB per run, ${t.runs} runs, ${t.chunkBytes}-byte writes)\n`)
  console.log('| path | MiB/s (median) | runs |\n|---|---|---|')
  console.log(`| AuraLink stream (libp2p over WebRTC, direct) | ${t.auralinkStream} | ${t.all.auralinkStream.join(', ')} |`)
  console.log(`| raw RTCDataChannel (node-datachannel), same processes | ${t.rawDataChannel} | ${t.all.rawDataChannel.join(', ')} |`)
  console.log(`\nRatio AuraLink / raw: **${t.ratio}**.`)
}

const cs = load('call-setup')
if (cs?.first !== undefined) {
  console.log(`\n### bench/call-setup (${cs.date}, ${cs.firstCalls} first calls and ${cs.repeatCalls} repeat calls each, interleaved, Chromium; load average ${cs.loadavg.before.join(' ')} before)\n`)
  console.log('| ms from `call()` to the first remote video frame | p50 | p95 | min | max | n |\n|---|---|---|---|---|---|')
  console.log(row('first call to a new peer: AuraLink `client.call(\'@bob.aura\', { audio, video })`', cs.first.auralink))
  console.log(row('first call to a new peer: PeerJS `peer.call(id, stream)` (its own server on 127.0.0.1)', cs.first.peerjs))
  console.log(row('repeat calls: AuraLink (the connection open)', cs.repeat.auralink))
  console.log(row('repeat calls: PeerJS', cs.repeat.peerjs))
  console.log(`\nRatio AuraLink / PeerJS: first calls p50 **${cs.first.ratio.p50}**, p95 ${cs.first.ratio.p95}; repeat calls p50 **${cs.repeat.ratio.p50}**, p95 ${cs.repeat.ratio.p95}. Failed calls: AuraLink ${cs.failures.auralink}, PeerJS ${cs.failures.peerjs}.`)
  for (const kind of ['first', 'repeat']) {
    const steps = cs[kind].auralink.steps
    console.log(`AuraLink ${kind} calls, setup steps (p50 ms): caller ${Object.entries(steps.caller).map(([k, v]) => `${k} ${v}`).join(', ')}; callee (since the invite) ${Object.entries(steps.callee).map(([k, v]) => `${k} ${v}`).join(', ')}.`)
  }
}
const bt = load('browser-throughput')
if (bt) {
  console.log(`\n### bench/browser-throughput (${bt.date}, ${(bt.bytes / 2 ** 20).toFixed(1)} MiB per transfer, ${bt.runs} runs each, interleaved, Chromium)\n`)
  console.log('| MiB/s, start to receiver\'s acknowledgement | p50 | min | max | runs |\n|---|---|---|---|---|')
  const labels = {
    auralink: 'AuraLink `call.sendFile()` (SHA-256 checked)',
    stream: 'AuraLink: a plain libp2p stream on the same connection',
    raw: 'raw RTCDataChannel between the same pages',
    peerjs: 'PeerJS reliable binary DataConnection'
  }
  for (const [k, label] of Object.entries(labels)) {
    const s = bt[k]
    if (s?.samples) console.log(`| ${label} | ${s.p50} | ${s.min} | ${s.max} | ${s.samples.join(', ')} |`)
  }
  console.log(`\nRatios of medians: ${Object.entries(bt.ratio).map(([k, v]) => `${k} **${v}**`).join(', ')}.`)
}
const bs = load('bundle-size')
if (bs) {
  console.log(`\n### bench/bundle-size (${bs.date}; ${bs.bundler})\n`)
  console.log('| entry | minified | min + gzip | min + brotli |\n|---|---|---|---|')
  const k = (n) => `${(n / 1024).toFixed(1)} KiB`
  for (const s of bs.sizes) console.log(`| \`${s.package}\`: ${s.entry} | ${k(s.minified)} | ${k(s.gzip)} | ${k(s.brotli)} |`)
}
const ae = load(process.argv.includes('--aic-quick') ? 'aic-enhance-quick' : 'aic-enhance') // --aic-quick: bench/aic/enhance.mjs --quick's figures
if (ae) {
  console.log(`\n### bench/aic/enhance (${ae.date}${ae.quick ? ', --quick' : ''}; model ${ae.model.name} v${ae.model.version} on ${ae.runtime.runtime}/${ae.runtime.executionProvider})\n`)
  console.log(`${ae.codec}; ${ae.metrics}.\n`)
  console.log('| BD-rate against VP8 at full size (mean over the clips) | SSIM | PSNR |\n|---|---|---|')
  for (const [res, b] of Object.entries(ae.bdRate)) {
    const cell = (m, k) => (b[m][k] === null ? `n/a (${b[m][`${k}Error`]})` : `${b[m][k] > 0 ? '+' : ''}${b[m][k]}%`)
    console.log(`| ${res}: VP8 at half size + bicubic | ${cell('ssim', 'bicubic')} | ${cell('psnr', 'bicubic')} |`)
    console.log(`| ${res}: VP8 at half size + AIC | **${cell('ssim', 'aic')}** | **${cell('psnr', 'aic')}** |`)
    if (b.ssim.aic1_5 !== undefined) {
      console.log(`| ${res}: VP8 at 2/3 size + bicubic | ${cell('ssim', 'bicubic1_5')} | ${cell('psnr', 'bicubic1_5')} |`)
      console.log(`| ${res}: VP8 at 2/3 size + AIC 1.5x | **${cell('ssim', 'aic1_5')}** | **${cell('psnr', 'aic1_5')}** |`)
    }
  }
  if (ae.clips[0]?.bdRate.ssim.aic1_5 !== undefined) {
    console.log('\n| what the network adds: BD-rate of AIC against bicubic from the same VP8 stream (mean over the clips) | SSIM | PSNR |\n|---|---|---|')
    for (const [res, b] of Object.entries(ae.bdRate)) {
      const cell = (m, k) => (b[m][k] === null ? `n/a (${b[m][`${k}Error`]})` : `${b[m][k] > 0 ? '+' : ''}${b[m][k]}%`)
      console.log(`| ${res}: 2x (half size) | ${cell('ssim', 'aicVsBicubic')} | ${cell('psnr', 'aicVsBicubic')} |`)
      console.log(`| ${res}: 1.5x (2/3 size) | ${cell('ssim', 'aic1_5VsBicubic')} | ${cell('psnr', 'aic1_5VsBicubic')} |`)
    }
  }
  console.log('\n| clip | BD-rate SSIM: bicubic, AIC | BD-rate PSNR: bicubic, AIC | targets left out (0 kbps) |\n|---|---|---|---|')
  const pct = (b, m, k) => (b[m][k] === null ? (/do not overlap/.test(b[m][`${k}Error`]) ? 'n/a (no shared quality range)' : 'n/a') : `${b[m][k] > 0 ? '+' : ''}${b[m][k]}%`)
  for (const c of ae.clips) console.log(`| ${c.name} | ${pct(c.bdRate, 'ssim', 'bicubic')}, ${pct(c.bdRate, 'ssim', 'aic')} | ${pct(c.bdRate, 'psnr', 'bicubic')}, ${pct(c.bdRate, 'psnr', 'aic')} | ${c.bdRate.excludedTargets.join(', ') || 'none'} |`)
  if (ae.clips[0]?.bdRate.ssim.aic1_5 !== undefined) {
    console.log('\n| clip | 1.5x BD-rate SSIM: bicubic, AIC (against VP8 full) | 1.5x BD-rate PSNR: bicubic, AIC | AIC 1.5x against bicubic 1.5x: SSIM, PSNR |\n|---|---|---|---|')
    for (const c of ae.clips) console.log(`| ${c.name} | ${pct(c.bdRate, 'ssim', 'bicubic1_5')}, ${pct(c.bdRate, 'ssim', 'aic1_5')} | ${pct(c.bdRate, 'psnr', 'bicubic1_5')}, ${pct(c.bdRate, 'psnr', 'aic1_5')} | ${pct(c.bdRate, 'ssim', 'aic1_5VsBicubic')}, ${pct(c.bdRate, 'psnr', 'aic1_5VsBicubic')} |`)
  }
  console.log('\n| clip | target kbps | VP8 full: kbps, dB, SSIM | half + bicubic: kbps, dB, SSIM | half + AIC: dB, SSIM | frames dropped (full, half) |\n|---|---|---|---|---|---|')
  for (const c of ae.clips) {
    for (const p of c.points) {
      console.log(`| ${c.name} | ${p.targetKbps} | ${p.vp8.kbps}, ${p.vp8.psnr}, ${p.vp8.ssim} | ${p.bicubic.kbps}, ${p.bicubic.psnr}, ${p.bicubic.ssim} | ${p.aic.psnr}, ${p.aic.ssim} | ${p.droppedFrames.full}, ${p.droppedFrames.half} |`)
    }
  }
  if (ae.clips[0]?.points[0]?.aic1_5 !== undefined) {
    console.log('\n| clip | target kbps | 2/3 size + bicubic: kbps, dB, SSIM | 2/3 size + AIC 1.5x: dB, SSIM | frames dropped (2/3 size) |\n|---|---|---|---|---|')
    for (const c of ae.clips) {
      for (const p of c.points) console.log(`| ${c.name} | ${p.targetKbps} | ${p.bicubic1_5.kbps}, ${p.bicubic1_5.psnr}, ${p.bicubic1_5.ssim} | ${p.aic1_5.psnr}, ${p.aic1_5.ssim} | ${p.droppedFrames.x1_5} |`)
    }
  }
  console.log('\n| speed (onnxruntime-node, 320x180 in, 640x360 out) | p50 ms | p95 ms | load ms | RSS growth |\n|---|---|---|---|---|')
  for (const [k, s] of Object.entries(ae.speed)) if (k.startsWith('threads')) console.log(`| ${k.replace('threads', '')} thread(s) | ${s.msPer640x360Frame.p50} | ${s.msPer640x360Frame.p95} | ${s.loadMs} | ${s.rssGrowthMiB} MiB |`)
  if (ae.speed.scale1_5) {
    const x = ae.speed.scale1_5
    console.log(`\n| speed at 1.5x (onnxruntime-node, ${x.input.join('x')} in, ${x.output.join('x')} out) | p50 ms | p95 ms | load ms | RSS growth |\n|---|---|---|---|---|`)
    for (const [k, s] of Object.entries(x)) if (k.startsWith('threads')) console.log(`| ${k.replace('threads', '')} thread(s) | ${s.msPer640x360Frame.p50} | ${s.msPer640x360Frame.p95} | ${s.loadMs} | ${s.rssGrowthMiB} MiB |`)
  }
}
const ms = load('mesh-scale')
if (ms) {
  const s = (x) => (x ? `${x.p50} | ${x.p95} | ${x.max} | ${x.n}` : 'n/a | n/a | n/a | 0')
  const pct = (r) => `${round(r * 100, 1)}%`
  console.log(`\n### bench/mesh-scale (${ms.date}${ms.quick ? ', --quick' : ''}; ${ms.config.relays} relays, ${ms.peers.registered} of ${ms.config.peers} peers registered, ${ms.config.peerHosts} peer processes)\n`)
  if (ms.note) console.log(`Note: ${ms.note}.\n`)
  if (ms.load?.loadavg1During) console.log(`1-minute load average during the run: p50 ${ms.load.loadavg1During.p50}, p95 ${ms.load.loadavg1During.p95} (${ms.machine.cpus} cores).\n`)
  console.log('| ms | p50 | p95 | max | n | success |\n|---|---|---|---|---|---|')
  console.log(`| resolve a name registered at another relay (directory asks the DHT) | ${s(ms.resolve.otherRelay)} | ${pct(ms.resolve.otherRelay.successRate)} |`)
  console.log(`| resolve a name registered at the same relay | ${s(ms.resolve.sameRelay)} | ${pct(ms.resolve.sameRelay.successRate)} |`)
  console.log(`| WebRTC dial across relays, through the target's relay, to first echoed byte | ${s(ms.dial.otherRelayViaTargetsRelay.ms)} | ${pct(ms.dial.otherRelayViaTargetsRelay.successRate)} |`)
  console.log(`| \`node.dial(name)\`, same relay, to first echoed byte | ${s(ms.dial.sameRelayMeshDial.ms)} | ${pct(ms.dial.sameRelayMeshDial.successRate)} |`)
  console.log(`| \`node.dial(name)\`, peer on another relay | | | | ${ms.dial.otherRelayMeshDial.n} | ${pct(ms.dial.otherRelayMeshDial.successRate)} |`)
  const m = ms.memory
  console.log(`\nRelay RSS p50 ${m.relayRssBeforeMiB.p50} MiB before peers, ${m.relayRssAfterMiB.p50} MiB after; per reservation p50 ${m.perReservationKiB.p50} KiB RSS (${m.perReservationHeapKiB.p50} KiB V8 heap). Mesh peer in Node: ${m.perPeerInHostMiB} MiB RSS each (host process base included).`)
  const c = ms.relayedCpu
  console.log(c.cpuSecondsPerMiB !== undefined
    ? `Relayed circuit: ${c.mib} MiB at ${c.mibPerSecond} MiB/s; relay CPU ${c.cpuSecondsPerMiB} s per MiB (${c.cpuSecondsPerMiBGross} gross).`
    : `Relayed circuit: ${c.error}.`)
  console.log(`Setup: relays ${ms.phases.relaysStartedSeconds} s, DHT settled at ${ms.phases.dhtSettledSeconds} s, peers ${ms.phases.peersSetUpSeconds} s; DHT peers per relay ${ms.relaysAfterPeers.dhtPeers.join(', ')}.`)
}
const sp = load('sip')
if (sp) {
  console.log(`\n### bench/sip (${sp.date}, ${sp.machine.cpus} cores; calls through one relay to SIPp's RTP echo, ${sp.seconds} s each; ${sp.note})\n`)
  console.log('| calls | relay CPU (% of a core) | per call | packets back per call (min, of 50/s) | jitter p95 ms | round trip p50 / p95 ms | bursts back | audio |\n|---|---|---|---|---|---|---|---|')
  for (const r of sp.runs) console.log(`| ${r.calls} | ${r.relayCpuPercent} | ${r.relayCpuPercentPerCall} | ${r.packetsBackPerSecond.min} | ${r.jitterP95Ms} | ${r.roundTripMs.p50} / ${r.roundTripMs.p95} | ${r.burstsBack} | ${r.audioBreaks ? 'breaks' : 'ok'} |`)
}
const im = load('images')
if (im) {
  console.log(`\n### bench/images (${im.date}, ${im.photos} evaluation photos 768 px wide, two Chromium pages; docs/images.md)\n`)
  console.log('| pages | quality | codec | bytes (mean) | bpp | luma PSNR dB | bytes / JPEG at equal PSNR | / mozjpeg | sendImage() p50 ms | on the other page p50 / p95 ms |\n|---|---|---|---|---|---|---|---|---|---|')
  for (const [mode, m] of Object.entries(im.modes)) {
    for (const [q, r] of Object.entries(m.byQuality)) console.log(`| ${mode === 'learned' ? 'learned codec offered' : 'default'} | ${q} | ${r.codec} | ${Math.round(r.bytes)} | ${r.bpp} | ${r.psnr} | ${r.bytesOverJpeg} | ${r.bytesOverMozjpeg} | ${r.sendMs.p50} | ${r.shownMs.p50} / ${r.shownMs.p95} |`)
  }
}
