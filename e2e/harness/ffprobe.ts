// ffprobe (Debian's ffmpeg package), which no one here wrote, reading a media file back: each
// stream's codec, size, start and decoded frame count, and the file's duration.
import { spawnSync } from 'node:child_process'

export interface Probe {
  streams: Array<{ codec_type: string, codec_name: string, width?: number, height?: number, nb_read_frames?: string, start_time?: string }>
  format: { duration?: string }
}

/** `ffprobe -count_frames` of `file`; throws with ffprobe's words when it cannot read it. */
export function ffprobe (file: string): Probe {
  const r = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_type,codec_name,width,height,nb_read_frames,start_time:format=duration', '-of', 'json', file], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`ffprobe failed on ${file}: ${r.stderr}`)
  return JSON.parse(r.stdout) as Probe
}
