import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { ChildProcess } from 'node:child_process'

// Shared by the integration tests (packages/mesh/test) and the e2e harness (e2e/harness/relay.ts):
// one way to run a real relay-node process in tests. Needs relay-node built (relay-node/dist).
const CLI = resolve(import.meta.dirname, '../relay-node/dist/cli.js')

export interface RelayProcess {
  readonly addr: string
  readonly dataDir: string
  readonly child: ChildProcess
  output(): string
  /** SIGTERM, then SIGKILL after 5 s; resolves with the exit code. */
  stop(): Promise<number | null>
}

/**
 * Starts a real `auralink-relay` process (the built CLI, on the Node running the tests) on free
 * ports and resolves once it prints its listening address. `dataDir` reuses a folder (restarts).
 */
export async function startRelayProcess (options: { dataDir?: string, port?: number, args?: string[] } = {}): Promise<RelayProcess> {
  const dataDir = options.dataDir ?? await mkdtemp(join(tmpdir(), 'auralink-relay-'))
  const child = spawn(process.execPath, [CLI, '--port', String(options.port ?? 0), '--http-port', '0', '--data-dir', dataDir, ...(options.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout.on('data', (d) => { out += String(d) })
  child.stderr.on('data', (d) => { out += String(d) })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { resolve(code) }))
  const addr = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`relay did not start within 20 s:\n${out}`)) }, 20_000)
    const check = (): void => {
      const m = /auralink-relay listening (\S+)/.exec(out)
      if (m?.[1] != null) { clearTimeout(timer); resolve(m[1]) }
    }
    child.stdout.on('data', check)
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`relay exited with ${code} before listening:\n${out}`)) })
  })
  return {
    addr,
    dataDir,
    child,
    output: () => out,
    async stop () {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      const code = await exited
      clearTimeout(timer)
      return code
    }
  }
}

/** The relay's HTTP base URL, from the line it prints at start. */
export function relayHttpUrl (relay: RelayProcess): string {
  const m = /auralink-relay http (\S+)/.exec(relay.output())
  if (m?.[1] == null) throw new Error(`no http line in the relay's output:\n${relay.output()}`)
  return m[1]
}

/** The first capture of `pattern` in the relay's /metrics text as a number; 0 when it does not match. */
export async function relayMetric (relay: RelayProcess, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${relayHttpUrl(relay)}/metrics`, { signal: AbortSignal.timeout(5000) })).text()
  const m = pattern.exec(text)
  return m === null ? 0 : Number(m[1])
}

export async function removeDir (dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for a process that must be told its port). */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve) })
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => { resolve() }))
  if (address === null || typeof address === 'string') throw new Error('no TCP port')
  return address.port
}

/** Stops every node, then every relay process (removing its data folder); empties both lists. For afterEach. */
export async function stopAll (nodes: Array<{ stop(): Promise<unknown> }>, relays: RelayProcess[]): Promise<void> {
  await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
  for (const r of relays.splice(0)) {
    await r.stop()
    await removeDir(r.dataDir)
  }
}
