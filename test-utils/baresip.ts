import { spawn } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import type { Socket } from 'node:net'

// A real SIP phone for tests: Debian's baresip (which no one here wrote), on loopback, from a
// configuration of its own in a temporary folder: one account, G.711 only, its microphone a sine
// tone (a WAV file of ours, 16-bit mono at 8 kHz, played by the aufile module) and its speaker nothing, driven through its TCP control interface
// (ctrl_tcp: netstring-framed JSON commands, answers and events).

export interface BaresipInit {
  /** 'auto' answers every call at once; 'manual' rings until accept() or hangup(). @default 'auto' */
  answer?: 'auto' | 'manual'
  /** The tone its microphone sends, in Hz. @default 1000 */
  toneHz?: number
}

export interface BaresipEvent { type: string, param?: string, peeruri?: string, [k: string]: unknown }

export interface Baresip {
  /** Its SIP port (UDP, 127.0.0.1). */
  readonly port: number
  /** `sip:<user>@127.0.0.1:<port>`. */
  uri(user: string): string
  /** Every control event so far (CALL_INCOMING, CALL_ESTABLISHED, CALL_CLOSED, ...), in order. */
  readonly events: BaresipEvent[]
  /** Resolves with the first event of `type` (past or to come) after `from` events; rejects after `timeoutMs`. */
  waitFor(type: string, timeoutMs: number, from?: number): Promise<BaresipEvent>
  /** A control command (`dial`, `accept`, `hangup`, ...): its answer's data, or an error with it. */
  command(command: string, params?: string): Promise<string>
  /** Everything baresip printed so far. */
  output(): string
  /**
   * What the phone received in its calls so far, decoded (the sndfile filter's `*-dec.wav` files,
   * 16-bit PCM at 8 kHz), oldest first: written as the call goes, complete once it has ended.
   */
  received(): Promise<Int16Array[]>
  /** SIGTERM, then SIGKILL after 5 s; removes its folder. */
  close(): Promise<void>
}

/** A free UDP port on 127.0.0.1 (bound, read, released). */
export async function freeUdpPort (): Promise<number> {
  const s = createSocket('udp4')
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve))
  const port = s.address().port
  await new Promise<void>((resolve) => s.close(() => { resolve() }))
  return port
}

/** A free TCP port on 127.0.0.1. */
async function freeTcpPort (): Promise<number> {
  const { createServer } = await import('node:net')
  const srv = createServer()
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const port = (srv.address() as { port: number }).port
  await new Promise<void>((resolve) => srv.close(() => { resolve() }))
  return port
}

/** The 16-bit samples of a PCM WAV file (its `data` chunk; a chunk cut short by a writer still running is read as far as it goes). */
export function wavSamples (b: Buffer): Int16Array {
  let at = 12
  while (at + 8 <= b.length) {
    const id = b.toString('ascii', at, at + 4)
    const size = b.readUInt32LE(at + 4)
    if (id === 'data') {
      const end = Math.min(b.length, at + 8 + size)
      const n = Math.floor((end - at - 8) / 2)
      return Int16Array.from({ length: n }, (_, i) => b.readInt16LE(at + 8 + i * 2))
    }
    at += 8 + size + (size & 1)
  }
  return new Int16Array(0)
}

/** A WAV file (16-bit PCM, mono, 8 kHz) of a sine tone at `hz`, `seconds` long, at a third of full scale. */
export function toneWav (hz: number, seconds: number, rate = 8000): Buffer {
  const n = Math.round(seconds * rate)
  const b = Buffer.alloc(44 + n * 2)
  b.write('RIFF', 0)
  b.writeUInt32LE(36 + n * 2, 4)
  b.write('WAVEfmt ', 8)
  b.writeUInt32LE(16, 16)
  b.writeUInt16LE(1, 20) // PCM
  b.writeUInt16LE(1, 22) // mono
  b.writeUInt32LE(rate, 24)
  b.writeUInt32LE(rate * 2, 28)
  b.writeUInt16LE(2, 32)
  b.writeUInt16LE(16, 34)
  b.write('data', 36)
  b.writeUInt32LE(n * 2, 40)
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(Math.sin(2 * Math.PI * hz * i / rate) * 32767 / 3), 44 + i * 2)
  return b
}

export async function startBaresip (init: BaresipInit = {}): Promise<Baresip> {
  const dir = await mkdtemp(join(tmpdir(), 'auralink-baresip-'))
  const port = await freeUdpPort()
  const ctrlPort = await freeTcpPort()
  await writeFile(join(dir, 'config'), [
    'poll_method epoll',
    `sip_listen 127.0.0.1:${port}`,
    'sip_trans_def udp',
    'call_max_calls 1',
    `audio_source aufile,${join(dir, 'tone.wav')}`,
    'audio_player aufile,/dev/null',
    'audio_alert aufile,/dev/null',
    'module_path /usr/lib/baresip/modules',
    'module g711.so',
    'module aufile.so',
    // the sndfile filter writes what each call sent and received to WAV files in snd_path
    'module sndfile.so',
    `snd_path ${join(dir, 'calls')}`,
    'module_app account.so',
    'module_app menu.so',
    'module_app ctrl_tcp.so',
    `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
    ''
  ].join('\n'))
  await writeFile(join(dir, 'tone.wav'), toneWav(init.toneHz ?? 1000, 60))
  await mkdir(join(dir, 'calls'))
  await writeFile(join(dir, 'accounts'), `<sip:bob@127.0.0.1>;regint=0;answermode=${init.answer ?? 'auto'}\n`)
  await writeFile(join(dir, 'contacts'), '')
  let out = ''
  const child: ChildProcess = spawn('baresip', ['-f', dir], { stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout!.on('data', (d) => { out += String(d) })
  child.stderr!.on('data', (d) => { out += String(d) })
  const exited = new Promise<void>((resolve) => child.once('exit', () => { resolve() }))

  // the control socket: retried until baresip listens (bounded)
  let sock: Socket | undefined
  for (let i = 0; i < 50 && sock === undefined; i++) {
    if (child.exitCode !== null) break
    sock = await new Promise<Socket | undefined>((resolve) => {
      const s = connect(ctrlPort, '127.0.0.1')
      s.once('connect', () => { resolve(s) })
      s.once('error', () => { resolve(undefined) })
    })
    if (sock === undefined) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  if (sock === undefined) {
    child.kill('SIGKILL')
    await exited
    await rm(dir, { recursive: true, force: true })
    throw new Error(`baresip's control port did not open within 5 s:\n${out}`)
  }
  const ctrl = sock
  const events: BaresipEvent[] = []
  const waiters = new Set<() => void>()
  const answers = new Map<string, (a: { ok: boolean, data: string }) => void>()
  let buf = Buffer.alloc(0)
  ctrl.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d])
    // netstrings: <length>:<payload>,
    for (;;) {
      const colon = buf.indexOf(0x3a)
      if (colon < 0) break
      const len = Number(buf.subarray(0, colon).toString())
      if (!Number.isInteger(len) || buf.length < colon + 1 + len + 1) break
      const msg = JSON.parse(buf.subarray(colon + 1, colon + 1 + len).toString()) as Record<string, unknown>
      buf = buf.subarray(colon + 1 + len + 1)
      if (msg.event === true) {
        events.push(msg as BaresipEvent)
        for (const w of [...waiters]) w()
      } else if (msg.response === true && typeof msg.token === 'string') {
        answers.get(msg.token)?.({ ok: msg.ok === true, data: String(msg.data ?? '') })
        answers.delete(msg.token)
      }
    }
  })
  let token = 0

  return {
    port,
    uri: (user) => `sip:${user}@127.0.0.1:${port}`,
    events,
    output: () => out,
    async received () {
      const files = (await readdir(join(dir, 'calls'))).filter((f) => f.endsWith('-dec.wav')).sort()
      return Promise.all(files.map(async (f) => wavSamples(await readFile(join(dir, 'calls', f)))))
    },
    async waitFor (type, timeoutMs, from = 0) {
      const found = (): BaresipEvent | undefined => events.slice(from).find((e) => e.type === type)
      const now = found()
      if (now !== undefined) return now
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const e = found()
          if (e === undefined) return
          waiters.delete(check)
          clearTimeout(timer)
          resolve(e)
        }
        const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`baresip: no ${type} within ${timeoutMs} ms; events: ${events.map((e) => e.type).join(', ')}`)) }, timeoutMs)
        waiters.add(check)
      })
    },
    async command (command, params = '') {
      const t = String(++token)
      const json = JSON.stringify({ command, params, token: t })
      const answer = new Promise<{ ok: boolean, data: string }>((resolve, reject) => {
        answers.set(t, resolve)
        setTimeout(() => { if (answers.delete(t)) reject(new Error(`baresip: no answer to ${command} within 5 s`)) }, 5_000)
      })
      ctrl.write(`${Buffer.byteLength(json)}:${json},`)
      const a = await answer
      if (!a.ok) throw new Error(`baresip ${command} ${params}: ${a.data}`)
      return a.data
    },
    async close () {
      ctrl.destroy()
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const t = setTimeout(() => { child.kill('SIGKILL') }, 5_000)
        await exited
        clearTimeout(t)
      }
      await rm(dir, { recursive: true, force: true })
    }
  }
}

export { toneShare } from './tone.js'
