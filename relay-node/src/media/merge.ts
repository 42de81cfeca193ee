/**
 * One file per call from one file per participant (issue 17; docs/recording.md): each
 * participant's upload is written to its own WebM (readable alone, so a crash loses at most one
 * participant's last cluster), and at the end Debian's ffmpeg copies every stream of every part
 * into one WebM, each part shifted by when it started on the relay's clock, so that a participant
 * who joined late starts late: never a shifted track. Streams are copied, not re-encoded.
 */
import { spawn } from 'node:child_process'
import { rm, writeFile } from 'node:fs/promises'

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

/** Runs ffmpeg with `args`; rejects naming ffmpeg's own words (or saying it is not installed). */
async function ffmpeg (args: string[], what: string, options: MergeOptions): Promise<void> {
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
      else reject(new Error(`ffmpeg could not ${what} (${signal !== null ? `killed after ${timeoutMs} ms` : `exit ${String(code)}`}): ${stderr.trim().slice(0, 1000)}`))
    })
  })
}

/**
 * One participant's parts (it dropped and came back) into one WebM, `out`: each part placed at
 * its own start, so the gap between them stays a gap (the last frame held, silence), never a
 * shift. The parts must be in start order; streams are copied.
 */
export async function joinParts (parts: readonly RecordingPart[], out: string, options: MergeOptions = {}): Promise<void> {
  if (parts.length === 0) throw new RangeError('joinParts() needs at least one part')
  const list = [
    'ffconcat version 1.0',
    ...parts.flatMap((p, i) => {
      if (/['\n\r]/.test(p.file)) throw new TypeError(`parts[${i}].file holds a quote or a line break`)
      const next = parts[i + 1]
      // each part lasts until the next one starts: the concat demuxer places that one there
      return [`file '${p.file}'`, ...(next !== undefined ? [`duration ${((next.startedAtMs - p.startedAtMs) / 1000).toFixed(3)}`] : [])]
    })
  ].join('\n') + '\n'
  const listFile = `${out}.ffconcat`
  await writeFile(listFile, list)
  try {
    await ffmpeg(['-v', 'error', '-nostdin', '-y', '-f', 'concat', '-safe', '0', '-i', listFile, '-map', '0', '-c', 'copy', '-f', 'webm', out], `join ${parts.length} parts into ${out}`, options)
  } finally {
    await rm(listFile, { force: true })
  }
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
  await ffmpeg(args, `merge ${parts.length} recordings into ${out}`, options)
}
