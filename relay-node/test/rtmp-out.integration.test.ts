import { spawn } from 'node:child_process'
import pino from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startNginxRtmp, probeRtmp } from '../../test-utils/nginx-rtmp.js'
import { RtmpOut } from '../src/media/rtmp-out.js'
import type { NginxRtmp } from '../../test-utils/nginx-rtmp.js'
import type { RtmpInput, RtmpState } from '../src/media/rtmp-out.js'
import type { ChildProcess } from 'node:child_process'

// The stream out's supervisor (RtmpOut) against a real RTMP server: Debian's nginx with
// libnginx-mod-rtmp, read back by ffprobe; neither written here. The participants' live WebM is
// made by ffmpeg from its test sources in real time (-re), as werift's writer makes it from a
// call (the call's path is in e2e/sdk-stream.e2e.test.ts).

const log = pino({ level: 'silent' })

/** A participant: a live WebM (VP8 + Opus) of a test picture and a tone, in real time. */
function participant (tone: number): { input: RtmpInput, proc: ChildProcess } {
  const proc = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=25', '-re', '-f', 'lavfi', '-i', `sine=frequency=${tone}:sample_rate=48000`,
    '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '400k', '-g', '50', '-c:a', 'libopus', '-f', 'webm', '-live', '1', 'pipe:1'], { stdio: ['ignore', 'pipe', 'ignore'] })
  return { input: { webm: proc.stdout!, video: true, audio: true }, proc }
}

/** Resolves when `out` reaches `state` (or rejects after `ms`). */
async function reaches (states: RtmpState[], state: RtmpState, ms: number): Promise<void> {
  const t0 = Date.now()
  while (!states.includes(state)) {
    if (Date.now() - t0 > ms) throw new Error(`state ${state} not reached within ${ms} ms; states: ${states.join(', ')}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe('RtmpOut: a composed H.264 + AAC stream to nginx-rtmp', () => {
  let nginx: NginxRtmp
  const procs: ChildProcess[] = []
  const outs: RtmpOut[] = []
  beforeAll(async () => { nginx = await startNginxRtmp(19351) })
  afterAll(async () => { await nginx?.close() })
  afterEach(async () => {
    for (const o of outs.splice(0)) await o.stop()
    for (const p of procs.splice(0)) p.kill('SIGKILL')
  })

  it('two participants side by side reach nginx, which ffprobe reads back as H.264 1280x360 and AAC; after nginx restarts the stream is back within 5 s of its return; stop() ends both processes', async () => {
    const a = participant(600)
    const b = participant(1000)
    procs.push(a.proc, b.proc)
    const states: RtmpState[] = []
    let reconnects = 0
    const out = new RtmpOut({ url: nginx.url('call'), log, onState: (s) => { states.push(s) }, onReconnect: () => { reconnects++ } })
    outs.push(out)
    out.start([a.input, b.input])
    await reaches(states, 'live', 15_000)
    const probe = await probeRtmp(nginx.url('call'), 3)
    const video = probe.streams.find((s) => s.codec_type === 'video')
    const audio = probe.streams.find((s) => s.codec_type === 'audio')
    expect(video).toMatchObject({ codec_name: 'h264', width: 1280, height: 360 })
    expect(audio).toMatchObject({ codec_name: 'aac' })
    // 3 s at 25 frames a second, read live
    expect(Number(video?.nb_read_frames)).toBeGreaterThan(50)

    // the RTMP server goes away for 2 s and comes back
    await nginx.stop()
    await reaches(states, 'reconnecting', 10_000)
    await new Promise((resolve) => setTimeout(resolve, 2_000))
    const back = Date.now()
    await nginx.start()
    const liveAgain = states.length
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => {
        if (states.slice(liveAgain).includes('live') || out.current === 'live') { clearInterval(t); resolve() }
        if (Date.now() - back > 10_000) { clearInterval(t); reject(new Error(`not live again within 10 s; states ${states.join(', ')}`)) }
      }, 50)
    })
    const gap = Date.now() - back
    // readable again: a reader gets pictures
    const again = await probeRtmp(nginx.url('call'), 2)
    expect(again.streams.find((s) => s.codec_type === 'video')?.codec_name).toBe('h264')
    expect(gap).toBeLessThan(5_000)
    expect(reconnects).toBeGreaterThan(0)
    console.log(`stream live again ${gap} ms after nginx returned (${reconnects} pusher restarts)`)

    await out.stop()
    expect(out.current).toBe('ended')
  })

  it('one participant and one not there (a black tile): 1280x360 from the start; restart() with both when the second arrives: the push goes on (no reconnect) and a reader still gets the stream', async () => {
    const a = participant(600)
    procs.push(a.proc)
    const states: RtmpState[] = []
    let reconnects = 0
    const out = new RtmpOut({ url: nginx.url('late'), log, onState: (st) => { states.push(st) }, onReconnect: () => { reconnects++ } })
    outs.push(out)
    out.start([a.input, { video: false, audio: false }])
    await reaches(states, 'live', 15_000)
    const alone = await probeRtmp(nginx.url('late'), 2)
    expect(alone.streams.find((x) => x.codec_type === 'video')).toMatchObject({ codec_name: 'h264', width: 1280, height: 360 })
    // the second arrives: the encoder restarts with both (each participant's input made anew)
    a.proc.kill('SIGKILL')
    const a2 = participant(600)
    const b = participant(1000)
    procs.push(a2.proc, b.proc)
    out.restart([a2.input, b.input])
    await new Promise((resolve) => setTimeout(resolve, 3_000))
    const both = await probeRtmp(nginx.url('late'), 2)
    expect(both.streams.find((x) => x.codec_type === 'video')).toMatchObject({ codec_name: 'h264', width: 1280, height: 360 })
    expect(Number(both.streams.find((x) => x.codec_type === 'video')?.nb_read_frames)).toBeGreaterThan(25)
    expect(out.current).toBe('live')
    expect(reconnects).toBe(0)
  })

  it('a URL nothing listens on: the stream fails with the pusher\'s words once firstConnectTimeoutMs passes', async () => {
    const a = participant(600)
    procs.push(a.proc)
    let why = ''
    const out = new RtmpOut({ url: 'rtmp://127.0.0.1:1/live/nobody', log, firstConnectTimeoutMs: 2_000, onState: (s, w) => { if (s === 'ended') why = w ?? '' } })
    outs.push(out)
    out.start([a.input])
    await out.whenEnded()
    expect(out.current).toBe('ended')
    expect(why).toMatch(/did not take the stream within 2000 ms/)
  })
})
