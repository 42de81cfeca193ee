// Runs one decoder target in a worker thread under a watchdog: a worker whose input index does
// not move for `watchdogMs` is terminated, the input is recorded as a hang, and a new worker
// goes on from the next input. A worker that dies (an uncaught exception, an unhandled
// rejection) is a crash at the input it was on.
import { Worker } from 'node:worker_threads'
import { decoderTargets } from './decoders.mjs'
import { hex, Rng } from './mutate.mjs'

const ZERO = () => ({ inputs: 0, ok: 0, typed: 0, crash: 0, hang: 0, slowOnce: 0, bytes: 0, errorNames: {} })

function add (a, b) {
  for (const k of ['inputs', 'ok', 'typed', 'crash', 'hang', 'slowOnce', 'bytes']) a[k] += b[k]
  for (const [k, v] of Object.entries(b.errorNames)) a.errorNames[k] = (a.errorNames[k] ?? 0) + v
  return a
}

let targets
async function inputOf (seed, name, index) {
  targets ??= await decoderTargets()
  return (await targets.find((t) => t.name === name).make(Rng.forInput(seed, name, index))).map(hex)
}

/** Inputs [0, count) of target `name`; `onFinding` hears each crash or hang. Resolves with the counts. */
export async function runDecoder (name, { seed, count, budgetMs = 1000, watchdogMs = 10_000, onProgress, onFinding }) {
  const total = ZERO()
  const started = performance.now()
  let next = 0
  while (next < count) {
    const progress = new Int32Array(new SharedArrayBuffer(4))
    progress[0] = next
    const worker = new Worker(new URL('./decoder-worker.mjs', import.meta.url), { workerData: { name, seed, start: next, end: count, budgetMs, progress } })
    let last = ZERO()
    const outcome = await new Promise((resolve) => {
      let seen = next
      let since = performance.now()
      const watchdog = setInterval(() => {
        const at = Atomics.load(progress, 0)
        if (at !== seen) { seen = at; since = performance.now(); return }
        if (performance.now() - since > watchdogMs) { clearInterval(watchdog); void worker.terminate(); resolve({ kind: 'hang', index: at }) }
      }, 250)
      worker.on('message', (m) => {
        if (m.type === 'counts') { last = m.counts; onProgress?.(total.inputs + last.inputs, count) }
        if (m.type === 'finding') onFinding(m.finding)
        if (m.type === 'done') { clearInterval(watchdog); resolve({ kind: 'done' }) }
      })
      worker.on('error', (error) => { clearInterval(watchdog); resolve({ kind: 'crash', index: Atomics.load(progress, 0), error }) })
      worker.on('exit', (code) => { clearInterval(watchdog); resolve({ kind: 'crash', index: Atomics.load(progress, 0), error: new Error(`worker exited with ${code}`) }) })
    })
    await worker.terminate()
    add(total, last)
    if (outcome.kind === 'done') break
    // the inputs the worker did after its last count message are not counted: go on after the bad one
    const finding = {
      target: name,
      kind: outcome.kind,
      seed,
      index: outcome.index,
      ...(outcome.kind === 'hang' ? { ms: watchdogMs, note: `no progress for ${watchdogMs} ms: the worker was terminated` } : {}),
      ...(outcome.error !== undefined ? { error: { name: outcome.error.name, message: String(outcome.error.message).slice(0, 500), stack: outcome.error.stack?.split('\n').slice(0, 8).join('\n') } } : {}),
      input: await inputOf(seed, name, outcome.index)
    }
    onFinding(finding)
    total[outcome.kind]++
    total.inputs++
    next = outcome.index + 1
  }
  const seconds = (performance.now() - started) / 1000
  return { ...total, seconds: Math.round(seconds * 10) / 10, perSecond: Math.round(total.inputs / seconds) }
}
