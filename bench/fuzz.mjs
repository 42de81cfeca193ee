// bench/fuzz: generated and mutated inputs for every AuraLink decoder (in worker threads, under a
// watchdog) and generated and mutated messages on every protocol a real relay process serves,
// sent by a stock js-libp2p peer. Counts per target: decoded ok / typed error / crash (an
// exception that is not the decoder's documented error type, or the relay process exiting) /
// hang (a decoder input over --budget-ms twice, a worker stuck for 10 s, or a stream the relay
// neither answers nor ends within --hang-ms). Every finding prints the seed and the input and
// is saved under bench/results/fuzz-findings/. Exit status 1 when there is any finding.
//
//   node bench/fuzz.mjs                       # 1,000,000 inputs per decoder and messages per protocol
//   node bench/fuzz.mjs --quick               # the CI size (well under a minute)
//   node bench/fuzz.mjs --messages 100000 --only directory,kad-dht --seed 7
//   node bench/fuzz.mjs --only auraid-record --seed 7 --replay 1234   # one input again
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join, relative } from 'node:path'
import { parseArgs } from 'node:util'
import * as P from '@auralink/protocol'
import { runDecoder } from './fuzz/decoder-runner.mjs'
import { decoderTargets } from './fuzz/decoders.mjs'
import { hex, Rng } from './fuzz/mutate.mjs'
import { directoryCall, exchange, legitRecord, protocolTargets, stockPeer } from './fuzz/protocols.mjs'
import { fetchMetrics, portablePaths, procRssBytes, root, round, startRelay } from './lib.mjs'

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    messages: { type: 'string' },
    'decoder-inputs': { type: 'string' },
    'protocol-messages': { type: 'string' },
    seed: { type: 'string', default: '1' },
    only: { type: 'string' },
    replay: { type: 'string' },
    'budget-ms': { type: 'string', default: '1000' },
    'hang-ms': { type: 'string', default: '30000' },
    'quiet-ms': { type: 'string' },
    'rotate-every': { type: 'string', default: '10000' },
    out: { type: 'string' },
    'findings-dir': { type: 'string' }
  }
})
const count = (name, fallback) => {
  const v = opts[name] ?? opts.messages
  if (v === undefined) return fallback
  const n = Number(v)
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`--${name} must be a positive integer, got ${JSON.stringify(v)}`)
  return n
}
const seed = Number(opts.seed) >>> 0
const decoderInputs = count('decoder-inputs', opts.quick ? 3000 : 1_000_000)
const protocolMessages = count('protocol-messages', opts.quick ? 400 : 1_000_000)
const budgetMs = Number(opts['budget-ms'])
const hangMs = Number(opts['hang-ms'])
const quietMs = Number(opts['quiet-ms'] ?? (opts.quick ? 1000 : 10_000))
const rotateEvery = Number(opts['rotate-every'])
const only = opts.only?.split(',').map((s) => s.trim()).filter(Boolean)
const wanted = (name) => only === undefined || only.includes(name)
const outFile = opts.out ?? join(root, `bench/results/${opts.quick ? 'fuzz-quick' : 'fuzz'}.json`)
const findingsDir = opts['findings-dir'] ?? join(root, 'bench/results/fuzz-findings')
const rel = (p) => relative(root, p).startsWith('..') ? p : relative(root, p)

const findings = []
const saved = {}
function finding (f) {
  findings.push(f)
  console.log(`FINDING ${f.kind} in ${f.target}: --seed ${f.seed} index ${f.index}${f.error ? ` ${f.error.name}: ${f.error.message}` : ''}${f.note ? ` (${f.note})` : ''}\n  input ${f.input.join(' ').slice(0, 2000)}`)
  saved[f.target] = (saved[f.target] ?? 0) + 1
  if (saved[f.target] > 50) return // the first 50 per target are enough to go on
  mkdirSync(findingsDir, { recursive: true })
  const file = join(findingsDir, `${f.target}-seed${f.seed}-${f.index}.json`)
  writeFileSync(file, JSON.stringify(portablePaths({ ...f, replay: `node bench/fuzz.mjs --only ${f.target} --seed ${f.seed} --replay ${f.index}` }), null, 2) + '\n')
}

// --replay: one decoder input again, in this thread, with its outcome
if (opts.replay !== undefined) {
  const target = (await decoderTargets()).find((t) => t.name === only?.[0])
  if (target === undefined) throw new TypeError(`--replay needs --only <decoder target>, got ${JSON.stringify(opts.only)}`)
  const parts = await target.make(Rng.forInput(seed, target.name, Number(opts.replay)))
  console.log(`input ${parts.map(hex).join(' ')}`)
  const t0 = performance.now()
  try {
    console.log('decoded ok:', await target.run(parts))
  } catch (err) {
    console.log(`threw ${err?.name}: ${err?.message}`)
  }
  console.log(`${round(performance.now() - t0)} ms`)
  process.exit(0)
}

const started = Date.now()
const results = { decoders: [], protocols: [] }

// 1. decoders, one worker at a time
for (const t of await decoderTargets()) {
  if (!wanted(t.name)) continue
  let shown = 0
  const r = await runDecoder(t.name, {
    seed,
    count: decoderInputs,
    budgetMs,
    onFinding: finding,
    onProgress: (i, n) => { if (process.stderr.isTTY && i - shown >= 20_000) { shown = i; process.stderr.write(`\r${t.name} ${i}/${n}`) } }
  })
  if (process.stderr.isTTY && shown > 0) process.stderr.write('\n')
  results.decoders.push({ target: t.name, call: t.what, ...r })
  console.log(`${t.name}: ${r.inputs} inputs, ${r.ok} ok, ${r.typed} typed, ${r.crash} crash, ${r.hang} hang in ${r.seconds} s`)
}

async function limitHits (httpUrl) {
  const out = {}
  const text = await fetchMetrics(httpUrl)
  for (const m of text.matchAll(/^auralink_relay_limit_hits_total\{limit="([^"]+)"\} (\d+)$/gm)) out[m[1]] = Number(m[2])
  return out
}
const diff = (a, b) => Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v - (a[k] ?? 0)]).filter(([, v]) => v > 0))
const mib = (bytes) => round(bytes / 2 ** 20, 1)

async function fuzzProtocols (targets) {
  // the per-peer request limits are raised so that the decoders see the messages (the limits
  // themselves are tested in relay-node/test/abuse and adversary); connection limits stay as they are
  const relay = await startRelay({
    args: ['--directory-rate-limit', '100000000', '--directory-write-limit', '100000000', '--probe-rate-limit', '100000000', '--directory-max-names-per-key', '1000', '--dht-republish-interval-ms', '0']
  })
  const pid = relay.child.pid
  let exited
  relay.child.on('exit', (code, signal) => { exited = { code, signal } })
  const legit = await stockPeer()
  const nodes = [legit]
  try {
    const legitName = `@fuzz-legit-${seed}.aura`
    const record = await legitRecord(legitName)
    const reg = await directoryCall(legit, relay.addr, P.encodeDirectoryRequest({ op: P.DirectoryOp.DIRECTORY_OP_REGISTER, record: record.bytes }))
    if (reg?.code !== 0) throw new Error(`the legitimate peer could not register ${legitName}: ${JSON.stringify(reg)}`)
    const resolve = async () => {
      const r = await directoryCall(legit, relay.addr, P.encodeDirectoryRequest({ op: P.DirectoryOp.DIRECTORY_OP_RESOLVE, name: legitName }))
      return r !== 'no answer' && r.code === 0 && r.records.length === 1
    }
    const healthz = async () => {
      try { return (await fetch(`${relay.httpUrl}/healthz`, { signal: AbortSignal.timeout(5000) })).status === 200 } catch { return false }
    }
    for (const t of targets) {
      if (exited !== undefined) break
      const rssBefore = procRssBytes(pid)
      const limitsBefore = await limitHits(relay.httpUrl)
      const counts = { messages: 0, streams: 0, ok: 0, typed: 0, limited: 0, unanswered: 0, hang: 0, badAnswer: 0, dialErrors: 0, peers: 0 }
      // the attacker: a stock peer, replaced by a fresh one (a new peer id) every --rotate-every messages
      let attacker = { node: await stockPeer(), inflight: 0, sent: 0 }
      nodes.push(attacker.node)
      counts.peers++
      const retire = async (a) => { if (a.retired && a.inflight === 0) await a.node.stop().catch(() => {}) }
      // the legitimate peer resolves its name every second while the attack runs
      const served = { ok: 0, failed: 0 }
      let running = true
      const legitLoop = (async () => {
        while (running) {
          if (await resolve().catch(() => false)) served.ok++
          else served.failed++
          await new Promise((resolve) => setTimeout(resolve, 1000))
        }
      })()
      const t0 = performance.now()
      let next = 0
      const lane = async () => {
        while (next < protocolMessages && exited === undefined) {
          const index = next
          next += t.perStream
          const sent = Math.min(t.perStream, protocolMessages - index)
          if (attacker.sent >= rotateEvery) {
            const old = attacker
            old.retired = true
            attacker = { node: await stockPeer(), inflight: 0, sent: 0 }
            nodes.push(attacker.node)
            counts.peers++
            void retire(old)
          }
          const a = attacker
          a.inflight++
          a.sent += sent
          const bytes = t.make(Rng.forInput(seed, `protocol:${t.name}`, index))
          const r = await exchange(a.node, relay.addr, t.protocol, bytes, { hangMs, readLimit: t.readLimit, answerFrames: t.answerFrames })
          a.inflight--
          void retire(a)
          counts.streams++
          counts.messages += sent
          if (r.dialError !== undefined) {
            counts.dialErrors++
            if (exited !== undefined) break
            continue
          }
          let outcome
          try {
            outcome = await t.classify(r, sent)
          } catch (err) {
            outcome = 'badAnswer'
            finding({ target: `protocol:${t.name}`, kind: 'bad answer', seed, index, error: { name: err.name, message: err.message }, input: [hex(bytes)] })
          }
          for (const o of [outcome].flat()) {
            counts[o]++
            if (o === 'hang') finding({ target: `protocol:${t.name}`, kind: 'hang', seed, index, note: `no answer and no end within ${hangMs} ms`, input: [hex(bytes)] })
          }
        }
      }
      await Promise.all(new Array(t.lanes).fill(0).map(lane))
      const seconds = (performance.now() - t0) / 1000
      running = false
      await legitLoop
      attacker.retired = true
      await retire(attacker)
      const rssAfter = exited === undefined ? procRssBytes(pid) : NaN
      const limits = exited === undefined ? diff(limitsBefore, await limitHits(relay.httpUrl)) : {}
      await new Promise((resolve) => setTimeout(resolve, quietMs))
      const rssQuiet = exited === undefined ? procRssBytes(pid) : NaN
      const after = { alive: exited === undefined, healthz: exited === undefined && await healthz(), resolve: exited === undefined && await resolve().catch(() => false) }
      if (!after.alive) finding({ target: `protocol:${t.name}`, kind: 'crash', seed, index: next, note: `the relay exited: ${JSON.stringify(exited)}`, input: [] })
      else if (!after.healthz || !after.resolve) finding({ target: `protocol:${t.name}`, kind: 'unhealthy', seed, index: next, note: `after the run: ${JSON.stringify(after)}`, input: [] })
      const refused = Object.values(limits).reduce((a, b) => a + b, 0)
      const row = {
        target: t.name,
        protocol: t.protocol,
        ...counts,
        crash: after.alive ? 0 : 1,
        refusedByLimits: limits,
        reachedDecoder: t.name === 'relay-list' ? 0 : counts.messages - counts.unanswered - counts.limited - counts.dialErrors,
        seconds: round(seconds, 1),
        perSecond: Math.round(counts.messages / seconds),
        legitDuringRun: served,
        after,
        rssMiB: { before: mib(rssBefore), after: mib(rssAfter), afterQuiet: mib(rssQuiet), quietMs }
      }
      if (refused > 0 && row.reachedDecoder > 0) row.note = `${refused} refusals counted by the relay's limits`
      results.protocols.push(row)
      console.log(`${t.name}: ${counts.messages} messages on ${counts.streams} streams from ${counts.peers} peers in ${row.seconds} s; ok ${counts.ok}, typed ${counts.typed}, limited ${counts.limited}, unanswered ${counts.unanswered}, hang ${counts.hang}; legit resolves ${served.ok} ok / ${served.failed} failed; RSS ${row.rssMiB.before} -> ${row.rssMiB.after} -> ${row.rssMiB.afterQuiet} MiB`)
    }
  } finally {
    await Promise.all(nodes.map((n) => n.stop().catch(() => {})))
    await relay.stop()
  }
}

// 2. protocols, against one relay process
const protocols = (await protocolTargets()).filter((t) => wanted(t.name) || wanted(`protocol:${t.name}`))
if (protocols.length > 0) await fuzzProtocols(protocols)

// 3. the table and the JSON
const pad = (s, n) => String(s).padEnd(n)
console.log('\n| decoder | inputs | ok | typed error | crash | hang | inputs/s |\n|---|---|---|---|---|---|---|')
for (const d of results.decoders) console.log(`| ${pad(d.target, 22)} | ${d.inputs} | ${d.ok} | ${d.typed} | ${d.crash} | ${d.hang} | ${d.perSecond} |`)
if (results.protocols.length > 0) {
  console.log('\n| protocol | messages | streams | ok | typed error | limited | not decoded | crash | hang | msgs/s | RSS MiB before / after / quiet | legit resolves ok/failed |\n|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const p of results.protocols) console.log(`| ${p.target} | ${p.messages} | ${p.streams} | ${p.ok} | ${p.typed} | ${p.limited} | ${p.unanswered} | ${p.crash} | ${p.hang} | ${p.perSecond} | ${p.rssMiB.before} / ${p.rssMiB.after} / ${p.rssMiB.afterQuiet} | ${p.legitDuringRun.ok}/${p.legitDuringRun.failed} |`)
}
const doc = {
  benchmark: 'fuzz',
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: round(totalmem() / 2 ** 30, 1), node: process.version },
  settings: { seed, quick: opts.quick, decoderInputs, protocolMessages, budgetMs, hangMs, quietMs, rotateEvery, only: only ?? null },
  wallSeconds: Math.round((Date.now() - started) / 1000),
  ...results,
  findings: findings.map((f) => ({ target: f.target, kind: f.kind, seed: f.seed, index: f.index, error: f.error?.name, note: f.note }))
}
mkdirSync(join(outFile, '..'), { recursive: true })
writeFileSync(outFile, JSON.stringify(portablePaths(doc), null, 2) + '\n')
console.log(`\nwrote ${rel(outFile)} in ${doc.wallSeconds} s; ${findings.length} finding(s)${findings.length > 0 ? `, saved under ${rel(findingsDir)}` : ''}`)
process.exit(findings.length > 0 ? 1 : 0)
