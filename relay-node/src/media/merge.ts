/**
 * One file per call from one file per participant (issue 17; docs/recording.md): each
 * participant's upload is written to its own WebM (readable alone, so a crash loses at most one
 * participant's last cluster), and at the end Debian's ffmpeg copies every stream of every part
 * into one WebM, each part shifted by when it started on the relay's clock, so that a participant
 * who joined late starts late: never a shifted track. Streams are copied, not re-encoded.
 */
import { spawn } from 'node:child_process'

/** One participant's file and when it started, by the relay's clock (RecordingSummary.startedAtMs). */
export interface RecordingPart {
  file: string
  startedAtMs: number
}

export interface MergeOptions {
  /** The ffmpeg binary. @default 'ffmpeg' (Debian's package ffmpeg) */
  ffmpeg?: string
  /** How long ffmpeg may take. @default 60000 */
  timeoutMs?: number
}

/**
 * Writes `out` (WebM) from `parts`: every audio and video stream of each, the earliest part at 0
 * and each other shifted by how much later it started. Rejects naming ffmpeg's own words when it
 * fails, and saying so when it is not installed.
 */
export async function mergeRecordings (parts: readonly RecordingPart[], out: string, options: MergeOptions = {}): Promise<void> {
  if (parts.length === 0) throw new RangeError('mergeRecordings() needs at least one part')
  for (const [i, p] of parts.entries()) {
    if (typeof p.file !== 'string' || p.file === '') throw new TypeError(`parts[${i}].file must be a path`)
    if (!Number.isFinite(p.startedAtMs)) throw new RangeError(`parts[${i}].startedAtMs must be a time in ms, got ${String(p.startedAtMs)}`)
  }
  const first = Math.min(...parts.map((p) => p.startedAtMs))
  const args = ['-v', 'error', '-nostdin', '-y']
  for (const p of parts) args.push('-itsoffset', ((p.startedAtMs - first) / 1000).toFixed(3), '-i', p.file)
  for (let i = 0; i < parts.length; i++) args.push('-map', String(i))
  args.push('-c', 'copy', '-f', 'webm', out)
  const bin = options.ffmpeg ?? 'ffmpeg'
  const timeoutMs = options.timeoutMs ?? 60_000
  await new Promise<void>((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => { if (stderr.length < 4096) stderr += d.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL') }, timeoutMs)
    child.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      reject(err.code === 'ENOENT' ? new Error(`merging recordings needs ffmpeg (Debian package ffmpeg); "${bin}" was not found`, { cause: err }) : err)
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve()
      else reject(new Error(`ffmpeg could not merge ${parts.length} recordings into ${out} (${signal !== null ? `killed after ${timeoutMs} ms` : `exit ${String(code)}`}): ${stderr.trim().slice(0, 1000)}`))
    })
  })
}
