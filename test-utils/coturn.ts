import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'

// A real TURN server for tests: Debian's coturn (`turnserver`), configured on the command line
// alone (no /etc/turnserver.conf, no database of its own beyond a temporary folder).

export interface Coturn {
  /** For `iceServers`: `turn:<ip>:<port>` with the static user's credentials. */
  readonly iceServer: { urls: string, username: string, credential: string }
  /** Its UDP and TCP port. */
  readonly port: number
  readonly child: ChildProcess
  /** Everything coturn printed so far (its log goes to stdout). */
  output(): string
  /** SIGTERM, then SIGKILL after 5 s; removes its temporary folder. */
  stop(): Promise<void>
}

export interface CoturnInit {
  /** The address it listens on and relays from (an address of the test namespace). */
  ip: string
  /** @default 3478 */
  port?: number
  /** Peer addresses it may relay to, as coturn ranges ('10.214.0.0-10.214.255.255'): recent coturn refuses private peers otherwise. */
  allowedPeers: string[]
}

export const COTURN_USER = 'auralink'
export const COTURN_PASSWORD = 'turn-test-secret'

/**
 * Starts `turnserver` with long-term credentials for one static user, UDP and TCP only (no TLS
 * or DTLS), no CLI, logging to stdout, and resolves once its UDP listener is open.
 */
export async function startCoturn (init: CoturnInit): Promise<Coturn> {
  const port = init.port ?? 3478
  const dir = await mkdtemp(join(tmpdir(), 'auralink-coturn-'))
  const args = [
    '-n', // no configuration file
    `--listening-ip=${init.ip}`, `--listening-port=${port}`, `--relay-ip=${init.ip}`,
    '--min-port=49152', '--max-port=49999',
    '--lt-cred-mech', `--user=${COTURN_USER}:${COTURN_PASSWORD}`, '--realm=auralink.test',
    '--no-tls', '--no-dtls', '--no-cli', '--no-software-attribute',
    '--log-file=stdout', '--simple-log', '--verbose',
    `--pidfile=${join(dir, 'turnserver.pid')}`, `--userdb=${join(dir, 'turndb')}`,
    ...init.allowedPeers.map((range) => `--allowed-peer-ip=${range}`)
  ]
  let child: ChildProcess
  try {
    child = spawn('turnserver', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
  let out = ''
  child.stdout?.on('data', (d) => { out += String(d) })
  child.stderr?.on('data', (d) => { out += String(d) })
  const exited = new Promise<void>((resolve) => child.once('exit', () => { resolve() }))
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
    await rm(dir, { recursive: true, force: true })
  }
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`turnserver did not open its UDP listener within 10 s:\n${out}`)) }, 10_000)
      const check = (): void => {
        if (out.includes(`UDP listener opened on: ${init.ip}:${port}`)) { clearTimeout(timer); resolve() }
      }
      child.stdout?.on('data', check)
      child.once('error', (err) => {
        clearTimeout(timer)
        reject(new Error(`turnserver could not run (${err.message}): scripts/setup.sh installs it (Debian package coturn)`))
      })
      void exited.then(() => { clearTimeout(timer); reject(new Error(`turnserver exited before listening:\n${out}`)) })
    })
  } catch (err) {
    await stop()
    throw err
  }
  return {
    iceServer: { urls: `turn:${init.ip}:${port}`, username: COTURN_USER, credential: COTURN_PASSWORD },
    port,
    child,
    output: () => out,
    stop
  }
}
