// Runs inputs [start, end) of one decoder target in a worker thread. Before each input it stores
// the input's index in `progress[0]`, so the main thread's watchdog knows which input hung if
// the worker stops moving; it posts counts every 2,000 inputs and each finding as it happens.
import { parentPort, workerData } from 'node:worker_threads'
import { performance } from 'node:perf_hooks'
import { decoderTargets } from './decoders.mjs'
import { hex, Rng } from './mutate.mjs'

const { name, seed, start, end, budgetMs, progress } = workerData
const target = (await decoderTargets()).find((t) => t.name === name)
if (target === undefined) throw new Error(`no decoder target ${JSON.stringify(name)}`)
const isTyped = typeof target.errors === 'function' ? target.errors : (e) => e instanceof Error && target.errors.includes(e.name)

const counts = { inputs: 0, ok: 0, typed: 0, crash: 0, hang: 0, slowOnce: 0, bytes: 0, errorNames: {} }
const findings = []

/** Runs one input; `{ outcome, ms, error }`. */
async function once (parts) {
  const t0 = performance.now()
  try {
    await target.run(parts)
    return { outcome: 'ok', ms: performance.now() - t0 }
  } catch (error) {
    return { outcome: isTyped(error) ? 'typed' : 'crash', ms: performance.now() - t0, error }
  }
}

let flushed = 0
const flush = () => {
  parentPort.postMessage({ type: 'counts', counts: { ...counts, errorNames: { ...counts.errorNames } } })
  flushed = counts.inputs
}
for (let i = start; i < end; i++) {
  Atomics.store(progress, 0, i)
  const parts = await target.make(Rng.forInput(seed, name, i))
  let r = await once(parts)
  if (r.ms > budgetMs) {
    // one slow input may be a GC pause or a busy machine: it is a hang only if it is slow again
    const again = await once(parts)
    if (again.ms > budgetMs) r = { ...again, outcome: 'hang' }
    else counts.slowOnce++
  }
  counts.inputs++
  counts.bytes += parts.reduce((n, p) => n + p.length, 0)
  counts[r.outcome]++
  if (r.error !== undefined) {
    const key = r.error instanceof Error ? r.error.name : `thrown ${typeof r.error}`
    counts.errorNames[key] = (counts.errorNames[key] ?? 0) + 1
  }
  if (r.outcome === 'crash' || r.outcome === 'hang') {
    findings.push({
      target: name,
      kind: r.outcome,
      seed,
      index: i,
      ms: Math.round(r.ms),
      error: r.error instanceof Error ? { name: r.error.name, message: r.error.message.slice(0, 500), stack: r.error.stack?.split('\n').slice(0, 8).join('\n') } : r.error === undefined ? undefined : { thrown: String(r.error) },
      input: parts.map(hex)
    })
    parentPort.postMessage({ type: 'finding', finding: findings.at(-1) })
  }
  if (counts.inputs - flushed >= 2000) flush()
}
flush()
parentPort.postMessage({ type: 'done' })
