import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'

// A real RTMP server for tests: Debian's nginx with libnginx-mod-rtmp (which no one here wrote),
// run in the foreground from a configuration of its own in a temporary folder: one application,
// `live`, that takes any stream and plays it back to any reader.

export interface NginxRtmp {
  /** Its RTMP port (127.0.0.1). */
  readonly port: number
  /** `rtmp://127.0.0.1:<port>/live/<name>`: where to push, and read back with ffprobe. */
  url(name: string): string
  /** Everything nginx printed so far (its error log goes to stderr). */
  output(): string
  /** Stops nginx (SIGTERM, then SIGKILL after 5 s). The folder is kept for start(). */
  stop(): Promise<void>
  /** Starts it again on the same port (after stop(): a server that went away and came back). */
  start(): Promise<void>
  /** stop(), then removes its folder. */
  close(): Promise<void>
}

const NGINX = '/usr/sbin/nginx'
const MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so'

/** Whether a TCP connection to 127.0.0.1:port opens. */
async function listening (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true) })
    s.on('error', () => { resolve(false) })
  })
}

/** Starts nginx-rtmp on 127.0.0.1:`port`; resolves once it accepts connections. */
export async function startNginxRtmp (port = 19350): Promise<NginxRtmp> {
  const dir = await mkdtemp(join(tmpdir(), 'auralink-nginx-'))
  const conf = join(dir, 'nginx.conf')
  await writeFile(conf, [
    `load_module ${MODULE};`,
    'daemon off;',
    'master_process off;',
    `pid ${join(dir, 'nginx.pid')};`,
    'error_log stderr warn;',
    'events { worker_connections 64; }',
    'rtmp {',
    '  server {',
    `    listen 127.0.0.1:${port};`,
    '    chunk_size 4096;',
    '    application live { live on; record off; }',
    '  }',
    '}',
    ''
  ].join('\n'))
  let child: ChildProcess | undefined
  let out = ''
  const start = async (): Promise<void> => {
    if (child !== undefined) throw new Error('nginx is running')
    let c: ChildProcess
    try {
      c = spawn(NGINX, ['-p', dir, '-c', conf, '-e', 'stderr'], { stdio: ['ignore', 'pipe', 'pipe'] })
    } catch (err) {
      throw new Error(`nginx could not run (${(err as Error).message}): scripts/setup.sh installs it (Debian packages nginx-light and libnginx-mod-rtmp)`)
    }
    child = c
    c.stdout?.on('data', (d) => { out += String(d) })
    c.stderr?.on('data', (d) => { out += String(d) })
    c.once('exit', () => { if (child === c) child = undefined })
    for (let i = 0; i < 100; i++) {
      if (c.exitCode !== null) throw new Error(`nginx exited (${c.exitCode}):\n${out}`)
      if (await listening(port)) return
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error(`nginx did not listen on 127.0.0.1:${port} within 10 s:\n${out}`)
  }
  const stop = async (): Promise<void> => {
    const c = child
    if (c === undefined) return
    const exited = new Promise<void>((resolve) => c.once('exit', () => { resolve() }))
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGTERM')
      const timer = setTimeout(() => c.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
    child = undefined
  }
  try {
    await start()
  } catch (err) {
    await stop()
    await rm(dir, { recursive: true, force: true })
    throw err
  }
  return {
    port,
    url: (name) => `rtmp://127.0.0.1:${port}/live/${name}`,
    output: () => out,
    stop,
    start,
    close: async () => { await stop(); await rm(dir, { recursive: true, force: true }) }
  }
}

/** What ffprobe (Debian's ffmpeg) reads of a live RTMP stream. */
export interface RtmpProbe {
  streams: Array<{ codec_type: string, codec_name: string, width?: number, height?: number, nb_read_frames?: string }>
}

/**
 * ffprobe reading `url` for `seconds` of the stream (`-read_intervals`, frames decoded and
 * counted); throws with ffprobe's words when it cannot read it (no stream yet, the server away).
 */
export async function probeRtmp (url: string, seconds: number): Promise<RtmpProbe> {
  const args = ['-v', 'error', '-rw_timeout', '5000000', '-read_intervals', `%+${seconds}`, '-count_frames',
    '-show_entries', 'stream=codec_type,codec_name,width,height,nb_read_frames', '-of', 'json', url]
  return await new Promise((resolve, reject) => {
    const p = spawn('ffprobe', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d) => { stdout += String(d) })
    p.stderr.on('data', (d) => { stderr += String(d) })
    const timer = setTimeout(() => { p.kill('SIGKILL') }, (seconds + 20) * 1000)
    p.on('error', (err) => { clearTimeout(timer); reject(err) })
    p.on('exit', (code) => {
      clearTimeout(timer)
      if (code !== 0) { reject(new Error(`ffprobe ${url} failed (${String(code)}): ${stderr.trim()}`)); return }
      try { resolve(JSON.parse(stdout) as RtmpProbe) } catch (err) { reject(err as Error) }
    })
  })
}
