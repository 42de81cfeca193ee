import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../..', import.meta.url))

interface Row { target: string, inputs?: number, messages?: number, crash: number, hang: number }
interface ProtocolRow extends Row { after: { alive: boolean, healthz: boolean, resolve: boolean }, legitDuringRun: { ok: number, failed: number } }
interface FuzzResult { decoders: Row[], protocols: ProtocolRow[], findings: unknown[] }

/** Runs bench/fuzz.mjs with `args` as a child process, bounded at `ms`: its exit code and output. */
async function runFuzz (args: string[], ms: number): Promise<{ code: number | null, output: string }> {
  const child = spawn(process.execPath, [join(root, 'bench/fuzz.mjs'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (d: Buffer) => { output += String(d) })
  child.stderr.on('data', (d: Buffer) => { output += String(d) })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, ms)
  try {
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => { resolve(c) }))
    return { code, output }
  } finally {
    clearTimeout(timer)
    if (child.exitCode === null) child.kill('SIGKILL')
  }
}

// bench/fuzz.mjs --quick: every decoder's generated and mutated inputs in worker threads, then a
// stock js-libp2p peer's mutated messages on each protocol of a real relay process (the CLI),
// on 127.0.0.1, with a legitimate peer resolving its name throughout.
describe('bench/fuzz.mjs --quick against the decoders and a real relay process', () => {
  let dir: string | undefined
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
    dir = undefined
  })

  it('"node bench/fuzz.mjs --quick" exits 0 with no crash, no hang and no finding; the relay stays healthy and serves a legitimate RESOLVE after each protocol', async () => {
    dir = await mkdtemp(join(tmpdir(), 'auralink-fuzz-'))
    const out = join(dir, 'fuzz.json')
    const { code, output } = await runFuzz(['--quick', '--out', out, '--findings-dir', join(dir, 'findings')], 110_000)
    expect(code, output.slice(-4000)).toBe(0)
    const result = JSON.parse(await readFile(out, 'utf8')) as FuzzResult
    expect(result.findings).toEqual([])
    expect(result.decoders.length).toBeGreaterThanOrEqual(14)
    for (const d of result.decoders) {
      expect(d.inputs, d.target).toBe(3000)
      expect([d.target, d.crash, d.hang]).toEqual([d.target, 0, 0])
    }
    expect(result.protocols.map((p) => p.target)).toEqual(['directory', 'relay-probe', 'relay-list', 'circuit-relay-hop', 'kad-dht'])
    for (const p of result.protocols) {
      expect(p.messages, p.target).toBe(400)
      expect([p.target, p.crash, p.hang]).toEqual([p.target, 0, 0])
      expect([p.target, p.after]).toEqual([p.target, { alive: true, healthz: true, resolve: true }])
      expect(p.legitDuringRun.ok, p.target).toBeGreaterThan(0)
      expect(p.legitDuringRun.failed, p.target).toBe(0)
    }
  }, 120_000)
})
