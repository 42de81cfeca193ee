import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { ChildProcess } from 'node:child_process'

const CLI = resolve(import.meta.dirname, '../dist/cli.js')

interface Run { child: ChildProcess, out: () => string, exit: Promise<number | null> }

function run (args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  let out = ''
  child.stdout.on('data', (d) => { out += String(d) })
  child.stderr.on('data', (d) => { out += String(d) })
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => { resolve(code) }))
  return { child, out: () => out, exit }
}

async function waitFor (r: Run, re: RegExp, ms = 20_000): Promise<RegExpExecArray> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    const m = re.exec(r.out())
    if (m != null) return m
    if (r.child.exitCode !== null) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`no ${re} in output:\n${r.out()}`)
}

async function exitWithin (r: Run, ms: number): Promise<number | null> {
  return Promise.race([r.exit, new Promise<never>((_resolve, reject) => setTimeout(() => { reject(new Error(`did not exit within ${ms} ms:\n${r.out()}`)) }, ms))])
}

describe('auralink-relay CLI', () => {
  const runs: Run[] = []
  const dirs: string[] = []
  afterEach(async () => {
    for (const r of runs.splice(0)) if (r.child.exitCode === null) { r.child.kill('SIGKILL'); await r.exit }
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
  })
  const tmp = async (): Promise<string> => { const d = await mkdtemp(join(tmpdir(), 'auralink-cli-')); dirs.push(d); return d }
  const start = (args: string[], env?: Record<string, string>): Run => { const r = run(args, env); runs.push(r); return r }

  it('starts with free ports, prints its multiaddr, serves /healthz and /metrics, and stops on SIGTERM with exit 0', async () => {
    const dir = await tmp()
    const r = start(['--port', '0', '--http-port', '0', '--data-dir', dir])
    const [, addr] = await waitFor(r, /auralink-relay listening (\S+)/)
    expect(addr).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws\/p2p\/12D3KooW/)
    const [, url] = await waitFor(r, /auralink-relay http (\S+)/)
    const health = await fetch(`${url}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toMatchObject({ status: 'ok', peerId: addr!.split('/p2p/')[1], reservations: 0, names: 0 })
    const metrics = await (await fetch(`${url}/metrics`)).text()
    for (const name of ['auralink_relay_reservations', 'auralink_relay_connections', 'auralink_directory_names', 'auralink_directory_operations_total', 'auralink_errors_total', 'process_cpu_seconds_total']) {
      expect(metrics).toContain(name)
    }
    expect((await fetch(`${url}/nope`)).status).toBe(404)
    // JSON log lines: one per lifecycle change
    expect(r.out()).toMatch(/"msg":"listening"/)
    r.child.kill('SIGTERM')
    expect(await exitWithin(r, 5000)).toBe(0)
    expect(r.out()).toMatch(/"msg":"stopped"/)
  })

  it('--reservation-grace 30 and AURALINK_RELAY_ADVERT_INTERVAL=20 (the old names, in seconds) still start the relay, each with one deprecation warning naming its replacement', async () => {
    const dir = await tmp()
    const r = start(['--port', '0', '--http-port', '0', '--data-dir', dir, '--reservation-grace', '30'], { AURALINK_RELAY_ADVERT_INTERVAL: '20' })
    await waitFor(r, /auralink-relay listening (\S+)/)
    const warnings = r.out().split('\n').filter((l) => l.includes('is deprecated')).map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(warnings).toEqual([
      expect.objectContaining({ level: 40, setting: 'AURALINK_RELAY_ADVERT_INTERVAL', replacement: 'AURALINK_RELAY_ADVERT_INTERVAL_MS', msg: 'AURALINK_RELAY_ADVERT_INTERVAL is deprecated (seconds): use AURALINK_RELAY_ADVERT_INTERVAL_MS (milliseconds); 20 s taken as 20000 ms' }),
      expect.objectContaining({ level: 40, setting: '--reservation-grace', replacement: '--reservation-grace-ms', msg: '--reservation-grace is deprecated (seconds): use --reservation-grace-ms (milliseconds); 30 s taken as 30000 ms' })
    ])
    r.child.kill('SIGTERM')
    expect(await exitWithin(r, 5000)).toBe(0)
  })

  it('keeps its PeerId across restarts with the same data dir', async () => {
    const dir = await tmp()
    const a = start(['--port', '0', '--http-port', '0', '--data-dir', dir])
    const [, first] = await waitFor(a, /listening \S+\/p2p\/(\S+)/)
    a.child.kill('SIGTERM')
    expect(await exitWithin(a, 5000)).toBe(0)
    const b = start(['--port', '0', '--http-port', '0', '--data-dir', dir])
    const [, second] = await waitFor(b, /listening \S+\/p2p\/(\S+)/)
    expect(second).toBe(first)
  })

  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--port', 'abc'], /--port: "abc" is not a whole number/],
    [['--port', '70000'], /--port: "70000" is not a port/],
    [['--log-level', 'loud'], /--log-level: "loud" is not a log level/],
    [['--announce', 'not-an-addr'], /--announce: "not-an-addr" is not a multiaddr/],
    [['extra'], /positional argument/i]
  ])('exits 2 with a message naming the bad input for %j', async (args, message) => {
    const r = start(args as string[])
    expect(await exitWithin(r, 10_000)).toBe(2)
    expect(r.out()).toMatch(message as RegExp)
    expect(r.out()).toMatch(/see auralink-relay --help/)
  })

  it('on Node 20 (process.versions faked before the CLI loads) prints "AuraLink needs Node 22 or later, this is Node 20.11.1" and exits 2', async () => {
    const fake = Buffer.from('Object.defineProperty(process.versions, "node", { value: "20.11.1" })').toString('base64')
    const r = run(['--port', '0', '--http-port', '0'], { NODE_OPTIONS: `--import=data:text/javascript;base64,${fake}` })
    runs.push(r)
    expect(await exitWithin(r, 20_000)).toBe(2)
    expect(r.out()).toContain('auralink-relay: AuraLink needs Node 22 or later, this is Node 20.11.1')
    expect(r.out()).not.toContain('listening')
  })

  it('exits 2 naming the env var for a bad env value, and naming the key for an unknown config file setting', async () => {
    const r = start([], { AURALINK_RELAY_HTTP_PORT: '-3' })
    expect(await exitWithin(r, 10_000)).toBe(2)
    expect(r.out()).toMatch(/AURALINK_RELAY_HTTP_PORT: "-3"/)
    const dir = await tmp()
    await writeFile(join(dir, 'relay.json'), JSON.stringify({ port: 0, colour: 'blue' }))
    const c = start(['--config', join(dir, 'relay.json')])
    expect(await exitWithin(c, 10_000)).toBe(2)
    expect(c.out()).toMatch(/unknown setting "colour"/)
  })

  it('flags beat env vars, which beat the config file', async () => {
    const dir = await tmp()
    await writeFile(join(dir, 'relay.json'), JSON.stringify({ port: 0, httpPort: 0, dataDir: join(dir, 'from-file'), logLevel: 'info' }))
    const r = start(['--config', join(dir, 'relay.json'), '--log-level', 'warn'], { AURALINK_RELAY_LOG_LEVEL: 'debug', AURALINK_RELAY_DATA_DIR: join(dir, 'from-env') })
    await waitFor(r, /auralink-relay listening/)
    expect(r.out()).not.toMatch(/"msg":"starting"/) // warn from the flag, not debug or info
    r.child.kill('SIGTERM')
    await exitWithin(r, 5000)
    const { existsSync } = await import('node:fs')
    expect(existsSync(join(dir, 'from-env', 'relay.key'))).toBe(true)
    expect(existsSync(join(dir, 'from-file'))).toBe(false)
  })

  it('exits 2 naming the path when the data dir cannot be made', async () => {
    const dir = await tmp()
    await writeFile(join(dir, 'a-file'), 'x')
    const bad = join(dir, 'a-file', 'relay')
    const r = start(['--port', '0', '--http-port', '0', '--data-dir', bad])
    expect(await exitWithin(r, 10_000)).toBe(2)
    expect(r.out()).toContain(`cannot use data dir ${bad}: a part of the path is a file (ENOTDIR)`)
    expect(r.out()).not.toMatch(/\n\s+at /) // no stack trace
  })

  it('a second relay on the same data dir exits 2 naming the datastore, and the first keeps serving', async () => {
    const dir = await tmp()
    const a = start(['--port', '0', '--http-port', '0', '--data-dir', dir])
    const [, url] = await waitFor(a, /auralink-relay http (\S+)/)
    const b = start(['--port', '0', '--http-port', '0', '--data-dir', dir])
    expect(await exitWithin(b, 10_000)).toBe(2)
    expect(b.out()).toContain(`cannot open the datastore ${join(dir, 'datastore')}`)
    expect(b.out()).toContain('is another auralink-relay using this data dir?')
    expect((await fetch(`${url}/healthz`)).status).toBe(200)
  })

  it('exits 1 naming host:port when a port is in use', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    try {
      const dir = await tmp()
      const r = start(['--port', String(port), '--http-port', '0', '--data-dir', dir])
      expect(await exitWithin(r, 10_000)).toBe(1)
      expect(r.out()).toContain(`port 127.0.0.1:${port} is in use`)
      expect(r.out()).not.toMatch(/\n\s+at /) // no stack trace
      const h = start(['--port', '0', '--http-port', String(port), '--data-dir', dir])
      expect(await exitWithin(h, 10_000)).toBe(1)
      expect(h.out()).toContain(`HTTP port 127.0.0.1:${port} is in use`)
    } finally {
      blocker.close()
    }
  })

  it('SIGINT stops it cleanly with exit 0 and the lifecycle lines in order', async () => {
    const dir = await tmp()
    const r = start(['--port', '0', '--http-port', '0', '--data-dir', dir])
    await waitFor(r, /auralink-relay http /)
    r.child.kill('SIGINT')
    expect(await exitWithin(r, 5000)).toBe(0)
    const msgs = r.out().split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { msg: string }).msg)
    expect(msgs).toEqual(['starting', 'http listening', 'listening', 'shutting down', 'stopping', 'stopped'])
  })

  it('a second signal during shutdown forces exit 1', async () => {
    const dir = await tmp()
    const r = start(['--port', '0', '--http-port', '0', '--data-dir', dir])
    await waitFor(r, /auralink-relay http /)
    // two different signals, so the kernel cannot merge them into one
    r.child.kill('SIGTERM')
    r.child.kill('SIGINT')
    expect(await exitWithin(r, 5000)).toBe(1)
    expect(r.out()).toMatch(/"msg":"second signal: exiting now"/)
  })

  it('--version prints the package version and exits 0', async () => {
    const { version } = JSON.parse(await readFile(resolve(import.meta.dirname, '../package.json'), 'utf8')) as { version: string }
    const r = start(['--version'])
    expect(await exitWithin(r, 10_000)).toBe(0)
    expect(r.out().trim()).toBe(version)
  })

  it('--help prints every flag with its env var and exits 0', async () => {
    const r = start(['--help'])
    expect(await exitWithin(r, 10_000)).toBe(0)
    for (const s of ['--port', '--data-dir', '--max-reservations', '--relay-data-limit', 'AURALINK_RELAY_PORT', 'Exit codes']) expect(r.out()).toContain(s)
  })
})
