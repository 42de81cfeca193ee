/**
 * A call streamed out over RTMP (issue 17; docs/recording.md "RTMP out"): Debian's ffmpeg, as two
 * child processes the relay supervises.
 *
 * - The **encoder** reads each participant's live WebM (MediaRecording.liveWebm(), one pipe per
 *   participant: fd 3, 4, ...), stamps it with the wall clock (so participants that started
 *   apart line up as they were live), puts the pictures side by side and mixes the audio, and
 *   encodes H.264 + AAC into MPEG-TS on its stdout, with a key frame every second.
 * - The **pusher** copies that MPEG-TS to `-f flv <url>`. It is the one that dies when the RTMP
 *   server drops, and the one restarted (0.25 s, then doubling to 2 s between tries): the encoder
 *   never stops for it, so a reconnect needs only the pusher's start and the next key frame.
 *
 * What the encoder writes while no pusher runs is dropped (a live stream does not catch up). The
 * encoder is restarted with every participant's input when one joins (a late participant, one
 * coming back); its timestamps continue from the last run (`-output_ts_offset`), so the pusher
 * sees one stream. A participant whose upload ends leaves its last picture held and silence.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import type { Readable, Writable } from 'node:stream'
import type { Logger } from 'pino'

/** Where the stream stands: connecting (the first time), live, reconnecting (the RTMP server dropped it), ended. */
export type RtmpState = 'connecting' | 'live' | 'reconnecting' | 'ended'

/** One participant's input to the picture and the mix. */
export interface RtmpInput {
  /** Its live WebM (MediaRecording.liveWebm()); none: a participant not there (a black tile, silence). */
  webm?: Readable
  /** Whether the WebM holds video, and audio (without, that half is black or silent). */
  video: boolean
  audio: boolean
  /** Asks the participant for a key frame (RTCP PLI): repeated until the encoder writes its first bytes. */
  keyFrame?: () => Promise<void>
}

export interface RtmpOutInit {
  /** rtmp:// or rtmps:// (checked by the caller: streamUrlProblem()). */
  url: string
  log: Logger
  /** @default 'ffmpeg' */
  ffmpeg?: string
  /** Each participant's tile in the picture. @default 640 x 360 */
  tileWidth?: number
  tileHeight?: number
  /** @default 25 */
  fps?: number
  /** H.264 bitrate, kbit/s. @default 1500 */
  videoKbps?: number
  /** First wait before a new pusher, doubling per failed try up to retryMaxMs. @default 250 */
  retryFirstMs?: number
  /** @default 2000 */
  retryMaxMs?: number
  /** A stream that has not been live within this long of its start fails (a wrong URL, an unreachable server). @default 15000 */
  firstConnectTimeoutMs?: number
  /** A live stream whose RTMP server stays away this long fails. @default 300000 (5 min) */
  reconnectTimeoutMs?: number
  /** Each change of state. */
  onState?: (state: RtmpState, why?: string) => void
  /** Each new pusher after the first (the RTMP server dropped the stream). */
  onReconnect?: () => void
}

const TS_PACKET = 188
/** Encoder output held for a slow pusher before chunks are dropped. */
const MAX_PUSH_BACKLOG = 4 << 20

/** The encoder's arguments for these inputs: one pipe per input that has a WebM, from fd 3. */
export function encoderArgs (inputs: ReadonlyArray<{ webm?: unknown, video: boolean, audio: boolean }>, o: { tileWidth: number, tileHeight: number, fps: number, videoKbps: number, offsetS: number }): string[] {
  const args = ['-hide_banner', '-loglevel', 'warning', '-nostdin']
  const w = o.tileWidth
  const h = o.tileHeight
  const filters: string[] = []
  const vs: string[] = []
  const as: string[] = []
  let pipe = 0
  inputs.forEach((inp, i) => {
    const n = inp.webm !== undefined ? pipe++ : -1
    // stamped on arrival: every participant on one clock
    if (n >= 0) args.push('-thread_queue_size', '1024', '-use_wallclock_as_timestamps', '1', '-analyzeduration', '1000000', '-probesize', '1000000', '-f', 'matroska', '-i', `pipe:${3 + n}`)
    const video = n >= 0 && inp.video
    const audio = n >= 0 && inp.audio
    filters.push(video
      ? `[${n}:v]scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=${o.fps}[v${i}]`
      : `color=c=black:s=${w}x${h}:r=${o.fps}[v${i}]`)
    filters.push(audio ? `[${n}:a]aresample=48000:async=1000,aformat=channel_layouts=stereo[a${i}]` : `anullsrc=r=48000:cl=stereo[a${i}]`)
    vs.push(`[v${i}]`)
    as.push(`[a${i}]`)
  })
  // hstack holds an ended input's last picture; amix goes on with the others
  filters.push(inputs.length > 1 ? `${vs.join('')}hstack=inputs=${inputs.length}[v]` : `${vs[0]!}null[v]`)
  filters.push(inputs.length > 1 ? `${as.join('')}amix=inputs=${inputs.length}:duration=longest:dropout_transition=0:normalize=0[a]` : `${as[0]!}anull[a]`)
  const gop = String(o.fps)
  args.push('-filter_complex', filters.join(';'), '-map', '[v]', '-map', '[a]',
    '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
    '-g', gop, '-keyint_min', gop, '-sc_threshold', '0',
    '-b:v', `${o.videoKbps}k`, '-maxrate', `${o.videoKbps}k`, '-bufsize', `${o.videoKbps * 2}k`,
    '-c:a', 'aac', '-b:a', '128k', '-ar', '44100',
    '-output_ts_offset', o.offsetS.toFixed(3), '-f', 'mpegts', '-mpegts_flags', 'resend_headers', 'pipe:1')
  return args
}

/** The pusher's arguments: MPEG-TS on stdin, FLV to the RTMP URL, progress on stdout. */
export function pusherArgs (url: string): string[] {
  return ['-hide_banner', '-loglevel', 'warning', '-nostats', '-progress', 'pipe:1',
    '-analyzeduration', '2000000', '-probesize', '2000000', '-f', 'mpegts', '-i', 'pipe:0',
    '-c', 'copy', '-protocol_whitelist', 'rtmp,rtmps,tcp,tls', '-f', 'flv', '-flvflags', 'no_duration_filesize', url]
}

/** One call's stream out: start(), then restart() with new inputs as participants join, stop(). */
export class RtmpOut {
  private state: RtmpState = 'connecting'
  private encoder: ChildProcess | undefined
  private pusher: ChildProcess | undefined
  /** The pusher is new: what it is fed starts at a TS packet boundary. */
  private pusherFresh = false
  private encoderBytes = 0
  private firstStart = 0
  private lastLive = 0
  private retryMs: number
  private retryTimer: ReturnType<typeof setTimeout> | undefined
  private watchdog: ReturnType<typeof setInterval> | undefined
  private ended = false
  private everLive = false
  private readonly o: Required<Omit<RtmpOutInit, 'onState' | 'onReconnect' | 'log' | 'url'>>
  /** The encoder's last error line (why it stopped). */
  private encoderError = ''
  private pusherError = ''
  private readonly endedP: Promise<void>
  private endedResolve!: () => void

  constructor (private readonly init: RtmpOutInit) {
    this.o = {
      ffmpeg: init.ffmpeg ?? 'ffmpeg',
      tileWidth: init.tileWidth ?? 640,
      tileHeight: init.tileHeight ?? 360,
      fps: init.fps ?? 25,
      videoKbps: init.videoKbps ?? 1500,
      retryFirstMs: init.retryFirstMs ?? 250,
      retryMaxMs: init.retryMaxMs ?? 2000,
      firstConnectTimeoutMs: init.firstConnectTimeoutMs ?? 15_000,
      reconnectTimeoutMs: init.reconnectTimeoutMs ?? 300_000
    }
    this.retryMs = this.o.retryFirstMs
    this.endedP = new Promise((resolve) => { this.endedResolve = resolve })
  }

  get current (): RtmpState {
    return this.state
  }

  /** Resolves when the stream has ended (stop(), or it failed: onState 'ended' says why). */
  async whenEnded (): Promise<void> {
    await this.endedP
  }

  /** Starts the encoder on `inputs` and the first pusher. */
  start (inputs: RtmpInput[]): void {
    if (this.firstStart !== 0) throw new Error('start(): already started')
    this.firstStart = Date.now()
    this.startEncoder(inputs)
    this.startPusher()
    // give up on a stream that never went live, or stays away too long after it was
    this.watchdog = setInterval(() => {
      const now = Date.now()
      if (!this.everLive && now - this.firstStart > this.o.firstConnectTimeoutMs) this.fail(`the RTMP server did not take the stream within ${this.o.firstConnectTimeoutMs} ms${this.pusherError !== '' ? `: ${this.pusherError}` : ''}`)
      else if (this.everLive && this.state === 'reconnecting' && now - this.lastLive > this.o.reconnectTimeoutMs) this.fail(`the RTMP server has been away for ${this.o.reconnectTimeoutMs} ms${this.pusherError !== '' ? `: ${this.pusherError}` : ''}`)
    }, 500)
    this.watchdog.unref()
  }

  /** A new encoder on `inputs` (a participant joined): the pusher goes on; the timestamps continue. */
  restart (inputs: RtmpInput[]): void {
    if (this.ended) return
    const old = this.encoder
    this.encoder = undefined
    old?.removeAllListeners('exit')
    old?.kill('SIGKILL')
    this.startEncoder(inputs)
  }

  /** Stops both processes; the RTMP server sees the stream end. Idempotent. */
  async stop (): Promise<void> {
    this.end('stopped')
    await this.endedP
  }

  private startEncoder (inputs: RtmpInput[]): void {
    const offsetS = this.firstStart === 0 ? 0 : (Date.now() - this.firstStart) / 1000
    const args = encoderArgs(inputs, { ...this.o, offsetS })
    const piped = inputs.flatMap((inp) => inp.webm !== undefined ? [inp.webm] : [])
    const stdio: Array<'ignore' | 'pipe'> = ['ignore', 'pipe', 'pipe', ...piped.map(() => 'pipe' as const)]
    const enc = spawn(this.o.ffmpeg, args, { stdio })
    this.encoder = enc
    this.encoderBytes = 0
    piped.forEach((webm, i) => {
      const sink = enc.stdio[3 + i] as Writable
      sink.on('error', () => {})
      webm.pipe(sink)
    })
    enc.stderr!.setEncoding('utf8').on('data', (s: string) => {
      this.encoderError = lastLine(s, this.encoderError)
      this.init.log.debug({ process: 'encoder', output: s.trim().slice(0, 500) }, 'ffmpeg said')
    })
    enc.stdout!.on('data', (chunk: Buffer) => { this.feed(chunk) })
    // the picture waits for every participant's first key frame: a sender may ignore a PLI that
    // comes soon after another (Chromium does), so ask again every half second until it comes
    const asking = setInterval(() => {
      if (this.encoder !== enc || this.encoderBytes > 0) { clearInterval(asking); return }
      for (const inp of inputs) void inp.keyFrame?.().catch(() => {})
    }, 500)
    enc.once('exit', () => { clearInterval(asking) })
    enc.on('error', (err) => { this.fail(`ffmpeg (the encoder) could not run: ${err.message}`) })
    enc.on('exit', (code, signal) => {
      if (this.encoder !== enc) return
      this.fail(`the encoder stopped (${code !== null ? `exit ${code}` : String(signal)})${this.encoderError !== '' ? `: ${this.encoderError}` : ''}`)
    })
    this.init.log.debug({ inputs: inputs.length, offsetS }, 'stream encoder started')
  }

  /** Encoder output to the pusher, from a TS packet boundary when the pusher is new; dropped when none runs or it lags. */
  private feed (chunk: Buffer): void {
    const at = this.encoderBytes
    this.encoderBytes += chunk.length
    const p = this.pusher
    if (p === undefined || p.stdin === null || !p.stdin.writable) return
    let data = chunk
    if (this.pusherFresh) {
      const skip = (TS_PACKET - (at % TS_PACKET)) % TS_PACKET
      if (skip >= data.length) return
      data = data.subarray(skip)
      this.pusherFresh = false
    }
    if (p.stdin.writableLength > MAX_PUSH_BACKLOG) { this.pusherFresh = true; return }
    p.stdin.write(data)
  }

  private startPusher (): void {
    if (this.ended) return
    const p = spawn(this.o.ffmpeg, pusherArgs(this.init.url), { stdio: ['pipe', 'pipe', 'pipe'] })
    this.pusher = p
    this.pusherFresh = true
    p.stdin.on('error', () => {})
    p.stderr.setEncoding('utf8').on('data', (s: string) => {
      this.pusherError = lastLine(s, this.pusherError)
      this.init.log.debug({ process: 'pusher', output: s.trim().slice(0, 500) }, 'ffmpeg said')
    })
    let progress = ''
    p.stdout.setEncoding('utf8').on('data', (s: string) => {
      progress = (progress + s).slice(-4096)
      const sizes = [...progress.matchAll(/total_size=(\d+)/g)]
      // bytes have left for the server: live
      if (sizes.length > 0 && Number(sizes.at(-1)![1]) > 0 && this.pusher === p) {
        this.lastLive = Date.now()
        if (this.state !== 'live') {
          this.everLive = true
          this.retryMs = this.o.retryFirstMs
          this.setState('live')
        }
      }
    })
    p.on('error', (err) => { this.pusherError = err.message })
    p.on('exit', (code) => {
      if (this.pusher !== p) return
      this.pusher = undefined
      if (this.ended) return
      this.init.log.info({ code, reason: this.pusherError }, 'stream: the RTMP push stopped; connecting again')
      if (this.everLive) this.setState('reconnecting', this.pusherError)
      const wait = this.retryMs
      this.retryMs = Math.min(this.retryMs * 2, this.o.retryMaxMs)
      this.retryTimer = setTimeout(() => {
        this.init.onReconnect?.()
        this.startPusher()
      }, wait)
    })
  }

  private setState (state: RtmpState, why?: string): void {
    if (this.state === state || this.state === 'ended') return
    this.state = state
    this.init.onState?.(state, why)
  }

  private fail (why: string): void {
    if (this.ended) return
    this.init.log.warn({ reason: why }, 'stream failed')
    this.end(why)
  }

  private end (why: string): void {
    if (this.ended) return
    this.ended = true
    clearInterval(this.watchdog)
    clearTimeout(this.retryTimer)
    const procs = [this.encoder, this.pusher].filter((p): p is ChildProcess => p !== undefined)
    this.encoder = undefined
    this.setState('ended', why)
    // the pusher gets the end of its input (a clean FLV end for the server), the encoder a signal
    const exits = procs.map(async (p) => await new Promise<void>((resolve) => {
      if (p.exitCode !== null || p.signalCode !== null) { resolve(); return }
      p.once('exit', () => { resolve() })
      const kill = setTimeout(() => { p.kill('SIGKILL') }, 3_000)
      p.once('exit', () => { clearTimeout(kill) })
    }))
    this.pusher?.stdin?.end()
    for (const p of procs) if (p !== this.pusher) p.kill('SIGTERM')
    void Promise.all(exits).then(() => { this.pusher = undefined; this.endedResolve() })
  }
}

/** The last non-empty line of what a process wrote, or `prev` (at most 300 characters). */
function lastLine (s: string, prev: string): string {
  const lines = s.split('\n').map((l) => l.trim()).filter((l) => l !== '')
  return (lines.at(-1) ?? prev).slice(0, 300)
}
