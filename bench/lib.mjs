// Shared helpers for the benchmarks: start a real relay-node process, percentiles, results.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir, cpus, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** Benchmarks that use WebRTC must run inside scripts/netns.sh. */
export function requireNetns (name) {
  if (process.env.AURALINK_NETNS !== '1') {
    console.error(`${name}: run it inside the test network namespace: scripts/netns.sh node bench/${name}.mjs (or npm run bench)`)
    process.exit(2)
  }
}

/** Starts `auralink-relay` on free ports with a fresh data dir; resolves with its multiaddr and a stop(). */
// Benchmarks dial through one relay far more often than a person would (bench/connect: 50 dials in
// under a minute); they measure speed, not the relay's abuse limits, so those are lifted here
// (the limits are tested in relay-node/test/abuse.integration.test.ts)
const BENCH_LIMITS = ['--circuit-rate-limit', '1000000', '--reservation-rate-limit', '1000000']

/** A relay-node process for a benchmark; with AURALINK_BENCH_RELAY_LOG set, its log lines go to stderr too (to see why a run failed). */
export async function startRelay ({ dataDir = mkdtempSync(join(tmpdir(), 'auralink-bench-relay-')), args = [] } = {}) {
  const child = spawn(process.execPath, [join(root, 'relay-node/dist/cli.js'), '--port', '0', '--http-port', '0', '--data-dir', dataDir, '--log-level', 'warn', ...BENCH_LIMITS, ...args], {
    stdio: ['ignore', 'pipe', 'inherit']
  })
  let out = ''
  const addr = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`relay did not start in 20 s:\n${out}`)), 20_000)
    child.stdout.on('data', (d) => {
      if (process.env.AURALINK_BENCH_RELAY_LOG !== undefined) process.stderr.write(d)
      out += d
      const m = /auralink-relay listening (\S+)/.exec(out)
      if (m) { clearTimeout(timer); resolve(m[1]) }
    })
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`relay exited with ${code}:\n${out}`)) })
  })
  return {
    addr,
    dataDir,
    child,
    /** The relay's /healthz and /metrics base URL, from its `auralink-relay http` line. */
    get httpUrl () { return /auralink-relay http (\S+)/.exec(out)?.[1] },
    async stop () {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      let timer
      await Promise.race([exited, new Promise((resolve) => { timer = setTimeout(resolve, 5000) })])
      clearTimeout(timer)
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  }
}

export function percentile (values, p) {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]
}

export function summary (values) {
  return {
    n: values.length,
    p50: round(percentile(values, 50)),
    p95: round(percentile(values, 95)),
    min: round(Math.min(...values)),
    max: round(Math.max(...values)),
    mean: round(values.reduce((a, b) => a + b, 0) / values.length)
  }
}

export const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d

/** Writes bench/results/<name>.json with the machine it ran on. */
/**
 * `value` with every path of this machine in its strings made portable, so that results files
 * say nothing of where they ran: the repository's own paths become relative to it (`/x/repo/a/b`
 * and `file:///x/repo/a/b` become `a/b`), the temporary folder's become `$TMPDIR/...` and the
 * home folder's `~/...`. Objects and arrays are copied; other values are kept.
 */
export function portablePaths (value) {
  // a path starts a string or follows a space, a quote, a bracket, '=', ':' or ','
  const at = (prefix) => new RegExp(`(?<=^|[\\s"'(\\[=:,])${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'g')
  const prefixes = [
    [`file://${root}/`, ''], [`${root}/`, ''], [`file://${root}`, '.'], [root, '.'],
    [`${tmpdir()}/`, '$$TMPDIR/'], [`${homedir()}/`, '~/']
  ].filter(([from]) => from.length > 2).map(([from, to]) => [at(from), to])
  const fix = (v) => {
    if (typeof v === 'string') {
      let s = v
      for (const [from, to] of prefixes) s = s.replace(from, to)
      return s
    }
    if (Array.isArray(v)) return v.map(fix)
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fix(x)]))
    return v
  }
  return fix(value)
}

/** Writes `bench/results/<name>.json` (with the date and the machine), every path portable (portablePaths). */
export function writeResult (name, result) {
  const dir = join(root, 'bench/results')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${name}.json`)
  const doc = portablePaths({
    benchmark: name,
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: round(totalmem() / 2 ** 30, 1), node: process.version },
    ...result
  })
  writeFileSync(file, JSON.stringify(doc, null, 2) + '\n')
  console.log(`wrote bench/results/${name}.json`)
  return doc
}

export function progress (label, i, n) {
  if (process.stderr.isTTY) process.stderr.write(`\r${label} ${i}/${n}`)
  else if (i === n || i % Math.max(1, Math.floor(n / 10)) === 0) process.stderr.write(`${label} ${i}/${n}\n`)
  if (i === n && process.stderr.isTTY) process.stderr.write('\n')
}

/** Starts bench/peer.mjs (a mesh node registered as `name`) in its own process. */
export function startPeer (relayAddr, name) {
  const child = spawn(process.execPath, [join(root, 'bench/peer.mjs'), '--relay', relayAddr, '--name', name], { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill(); reject(new Error('peer did not start in 30 s')) }, 30_000)
    child.stdout.on('data', (d) => { if (String(d).startsWith('ready')) { clearTimeout(timer); resolve(child) } })
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`peer exited with ${code}`)) })
  })
}

/** A process's resident memory in bytes (VmRSS in /proc/<pid>/status; Linux). */
export function procRssBytes (pid) {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? NaN : Number(m[1]) * 1024
}

/** CPU seconds a process has used, user + system (utime + stime in /proc/<pid>/stat; Linux, 100 ticks/s). */
export function procCpuSeconds (pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // the command name (field 2) may hold spaces: count fields after its closing parenthesis
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** `pid` and every process below it (its children, theirs...), from /proc; Linux. */
export function procTree (pid) {
  const parents = new Map()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      parents.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
    } catch {}
  }
  const tree = [pid]
  for (let i = 0; i < tree.length; i++) for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child)
  return tree
}

/** The relay's Prometheus text from <httpUrl>/metrics, bounded at `timeoutMs`. */
export async function fetchMetrics (httpUrl, timeoutMs = 5000) {
  const res = await fetch(`${httpUrl}/metrics`, { signal: AbortSignal.timeout(timeoutMs) })
  if (!res.ok) throw new Error(`${httpUrl}/metrics answered ${res.status}`)
  return res.text()
}

/** The value of one sample in Prometheus text (`name` with its labels as written, e.g. `x{op="a"}`); NaN when absent. */
export function metricValue (text, name) {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const m = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text)
  return m === null ? NaN : Number(m[1])
}
