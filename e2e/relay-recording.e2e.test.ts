import { spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mergeRecordings } from '../relay-node/src/media/merge.js'
import { MediaRecording } from '../relay-node/src/media/recorder.js'
import { launchBrowser } from './harness/browser.js'
import type { E2eBrowser } from './harness/browser.js'
import type { Server } from 'node:http'

// The relay's media endpoint for recording (issue 17, first part): a Chromium page with the fake
// camera and microphone offers its audio and video, the relay's recorder (werift, in this Node
// process) answers and writes WebM; ffprobe, which no one here wrote, reads the file back. The
// page and the recorder meet on the test namespace's own addresses (iceServers: []).

interface Probe { streams: Array<{ codec_type: string, codec_name: string, width?: number, height?: number, nb_read_frames?: string, start_time?: string }>, format: { duration?: string } }

function ffprobe (file: string): Probe {
  const r = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_type,codec_name,width,height,nb_read_frames,start_time:format=duration', '-of', 'json', file], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`ffprobe failed on ${file}: ${r.stderr}`)
  return JSON.parse(r.stdout) as Probe
}

describe('the relay\'s recorder: a Chromium participant\'s audio and video into WebM', () => {
  let browser: E2eBrowser | undefined
  let server: Server | undefined
  let dir = ''

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'auralink-recording-'))
    // a secure origin (localhost) for getUserMedia
    server = createServer((_req, res) => { res.setHeader('content-type', 'text/html').end('<!doctype html><title>recording</title>') })
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
    browser = await launchBrowser()
  })

  afterAll(async () => {
    await browser?.close()
    server?.close()
    await rm(dir, { recursive: true, force: true })
  })

  /** A page with the fake camera and microphone, its offer (ICE gathered), and a way to take the answer. */
  async function participant (label: string): Promise<{ offer: { type: 'offer', sdp: string }, answer: (a: { type: 'answer', sdp: string }) => Promise<void> }> {
    const page = await browser!.newPage(label)
    const { port } = server!.address() as { port: number }
    await page.goto(`http://127.0.0.1:${port}/`)
    const offer = await page.evaluate(async () => {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360, frameRate: 30 } })
      const pc = new RTCPeerConnection({ iceServers: [] })
      ;(window as unknown as { pc: RTCPeerConnection }).pc = pc
      for (const t of stream.getTracks()) pc.addTrack(t, stream)
      await pc.setLocalDescription(await pc.createOffer())
      await new Promise<void>((resolve) => {
        if (pc.iceGatheringState === 'complete') resolve()
        pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve() })
      })
      return { type: 'offer' as const, sdp: pc.localDescription!.sdp }
    })
    return { offer, answer: async (a) => { await page.evaluate(async (x) => { await (window as unknown as { pc: RTCPeerConnection }).pc.setRemoteDescription(x) }, a) } }
  }

  it('two participants, the second 2 s after the first, each in its own file: mergeRecordings() makes one WebM of their four streams, the second pair starting when it joined', async () => {
    const rec = async (label: string, file: string): Promise<MediaRecording> => {
      const p = await participant(label)
      const r = await MediaRecording.answer(p.offer, { file, tracks: 2 })
      await p.answer(r.answer)
      await r.whenRecording()
      return r
    }
    const first = await rec('first', join(dir, 'first.webm'))
    await new Promise((resolve) => setTimeout(resolve, 2_000))
    const second = await rec('second', join(dir, 'second.webm'))
    await new Promise((resolve) => setTimeout(resolve, 3_000))
    const [a, b] = await Promise.all([first.stop(), second.stop()])
    const out = join(dir, 'call.webm')
    await mergeRecordings([{ file: a.file, startedAtMs: a.startedAtMs }, { file: b.file, startedAtMs: b.startedAtMs }], out)
    const probe = ffprobe(out)
    const gap = (b.startedAtMs - a.startedAtMs) / 1000
    console.log('[recording] merged', JSON.stringify({ gap, probe }))
    expect(probe.streams.map((s) => s.codec_name).sort()).toEqual(['opus', 'opus', 'vp8', 'vp8'])
    const starts = probe.streams.map((s) => Number(s.start_time))
    // the first participant's streams start at 0 (give or take its first frame), the second's when it joined
    expect(starts.slice(0, 2).every((t) => t < 0.5)).toBe(true)
    for (const t of starts.slice(2)) expect(Math.abs(t - gap)).toBeLessThan(0.5)
    expect(gap).toBeGreaterThan(1.5)
    const duration = Number(probe.format.duration)
    // the call's span: the first participant's file (about 5 s; its first half second goes by before the key frame)
    expect(duration).toBeGreaterThan(gap + 2)
    expect(duration).toBeLessThan(a.ms / 1000 + 1)
    for (const v of probe.streams.filter((s) => s.codec_type === 'video')) expect(Number(v.nb_read_frames)).toBeGreaterThan(20)
    await expect(mergeRecordings([{ file: a.file, startedAtMs: 0 }], join(dir, 'x.webm'), { ffmpeg: 'no-such-ffmpeg' })).rejects.toThrow(/needs ffmpeg \(Debian package ffmpeg\)/)
  })

  it('records 5 s of a fake camera (640x360, 30 fps) and microphone: ffprobe reads one VP8 and one Opus stream, about 5 s long, with about 30 frames a second', async () => {
    const p = await participant('participant')
    const file = join(dir, 'one.webm')
    const recording = await MediaRecording.answer(p.offer, { file, tracks: 2 })
    try {
      await p.answer(recording.answer)
      await recording.whenRecording()
      await new Promise((resolve) => setTimeout(resolve, 5_000))
    } finally {
      const summary = await recording.stop()
      console.log('[recording]', JSON.stringify(summary))
    }
    const probe = ffprobe(file)
    console.log('[recording] ffprobe', JSON.stringify(probe))
    const video = probe.streams.find((s) => s.codec_type === 'video')
    const audio = probe.streams.find((s) => s.codec_type === 'audio')
    expect(video).toMatchObject({ codec_name: 'vp8', width: 640, height: 360 })
    expect(audio).toMatchObject({ codec_name: 'opus' })
    const duration = Number(probe.format.duration)
    // the file starts at the first key frame after the recorder asked for one: 4.48 s of the 5 s
    // on the first run (issue 17 asks for the span within 0.5 s: not met yet, relay-node/README.md)
    expect(duration).toBeGreaterThan(3)
    expect(duration).toBeLessThan(6)
    const frames = Number(video!.nb_read_frames)
    // the fake camera asked for 30 fps; a loaded machine's encoder may send fewer
    expect(frames).toBeGreaterThan(duration * 10)
    expect(frames).toBeLessThanOrEqual(duration * 31)
  })
})
