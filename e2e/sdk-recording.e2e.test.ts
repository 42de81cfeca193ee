import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser } from './harness/browser.js'
import { ffprobe } from './harness/ffprobe.js'
import { startRelay } from './harness/relay.js'
import { closeSdkPages, runSdk, waitSdkState } from './harness/sdk-page.js'
import { servePages } from './harness/server.js'
import { throwFirstRejection } from './harness/settled.js'
import { until } from './harness/aic.js'
import { probeRtmp, startNginxRtmp } from '../test-utils/nginx-rtmp.js'
import type { NginxRtmp } from '../test-utils/nginx-rtmp.js'
import type { PageError } from './pages/sdk.js'
import type { E2eBrowser } from './harness/browser.js'
import type { E2eRelay } from './harness/relay.js'
import type { PageServer } from './harness/server.js'
import type { RecordingSidecar } from '../relay-node/src/index.js'
import type { RecordingChange } from '@auralink/sdk'
import type { Page } from 'playwright-core'

// call.startRecording() between two Chromium pages (fake camera and microphone) through a real
// relay-node process started with --recording: the asker's consent, the other side's answer,
// each side's upload, the relay's file read back by ffprobe (which no one here wrote). And
// call.startStream(): the same relay pushes the call to Debian's nginx with libnginx-mod-rtmp,
// read back by ffprobe.


describe('call.startRecording() and call.startStream() between two Chromium pages, through a real relay node', () => {
  let relay: E2eRelay | undefined
  let nginx: NginxRtmp | undefined
  let server: PageServer | undefined
  let browser: E2eBrowser | undefined
  let pages: Page[] = []
  let n = 0
  const run = runSdk

  async function user (label: string): Promise<{ page: Page, name: string }> {
    const page = await browser!.newPage(label)
    pages.push(page)
    await page.goto(server!.url('sdk'), { timeout: 15_000 })
    await page.waitForFunction(() => 'sdkPage' in window, undefined, { timeout: 10_000 })
    const name = `@${label}-${++n}.aura`
    await run(page, async (sdk, a) => sdk.start((a as string[])[0]!, (a as string[])[1]!), [relay!.addr, name])
    return { page, name }
  }

  /** Two pages in a connected audio and video call. */
  async function connected (): Promise<{ alice: Page, bob: Page }> {
    const alice = await user('alice')
    const bob = await user('bob')
    expect(await run(alice.page, async (sdk, a) => sdk.call(a as string, { audio: true, video: true }), bob.name)).toBeNull()
    // bob's page has a call once the invite arrived: alice's side first
    await waitSdkState(alice.page, 'connected', 30_000)
    await waitSdkState(bob.page, 'connected', 30_000)
    return { alice: alice.page, bob: bob.page }
  }

  const recordings = (): string => join(relay!.process.dataDir, 'recordings')
  const events = async (page: Page): Promise<RecordingChange[]> => run(page, (sdk) => sdk.recordingEvents())

  beforeAll(async () => {
    const started = await Promise.allSettled([
      startNginxRtmp(19352).then(async (n) => {
        nginx = n
        relay = await startRelay({ args: ['--max-reservations-per-address', '64', '--recording', '--recordings-min-free-bytes', '0', '--stream-host', `127.0.0.1:${n.port}`] })
      }),
      servePages(['sdk']).then((s) => { server = s }),
      launchBrowser().then((b) => { browser = b })
    ])
    throwFirstRejection(started)
  })

  afterEach(async () => {
    await closeSdkPages(pages)
    pages = []
  })

  afterAll(async () => {
    const closed = await Promise.allSettled([browser?.close(), server?.close(), relay?.stop(), nginx?.close()])
    throwFirstRejection(closed)
  })

  it('alice asks, bob agrees: both upload, both see "recording", alice stops after 8 s, both see "stopped"; the relay\'s file holds both sides\' video and audio for the span', async () => {
    const { alice, bob } = await connected()
    const started = await run(alice, async (sdk) => sdk.startRecording())
    if ('name' in started) throw new Error(`startRecording: ${(started as PageError).name}: ${(started as PageError).message}`)
    expect(started).toMatchObject({ state: 'recording', askedBy: 'local' })
    expect(started.relay).toBe(relay!.addr)
    const t0 = Date.now()
    // bob's side: asked, then starting (it agreed), then recording
    const bobSaw = await until('bob records', async () => events(bob), (e) => e.some((x) => x.state === 'recording'), 20_000)
    expect(bobSaw.map((e) => e.state)).toEqual(['asked', 'starting', 'recording'])
    expect(bobSaw.every((e) => e.id === started.id && e.askedBy === 'remote')).toBe(true)
    expect((await events(alice)).map((e) => e.state)).toEqual(['asking', 'recording'])
    await new Promise((resolve) => setTimeout(resolve, 8_000))
    await run(alice, async (sdk) => sdk.stopRecording())
    const span = (Date.now() - Math.min(t0, started.startedAt!)) / 1000
    const bobEnd = await until('bob stops', async () => events(bob), (e) => e.some((x) => x.state === 'stopped'), 10_000)
    expect(bobEnd.at(-1)).toMatchObject({ state: 'stopped', by: 'remote', reason: 'stopped' })
    expect((await events(alice)).at(-1)).toMatchObject({ state: 'stopped', by: 'local' })
    // the call goes on
    expect(await run(alice, (sdk) => sdk.states().at(-1)?.state)).toBe('connected')

    const sidecarFile = join(recordings(), `${started.id}.json`)
    const sidecar = await until('the relay finishes the file', async () => JSON.parse(await readFile(sidecarFile, 'utf8').catch(() => '{}')) as Partial<RecordingSidecar>,
      (s) => s.status === 'complete' || s.status === 'failed', 30_000)
    console.log('[sdk-recording] sidecar', JSON.stringify({ ...sidecar, consents: sidecar.consents?.length }))
    expect(sidecar).toMatchObject({ status: 'complete', recordingId: started.id })
    expect(sidecar.parts).toHaveLength(2)
    const probe = ffprobe(join(recordings(), `${started.id}.webm`))
    console.log('[sdk-recording] file', JSON.stringify({ span, probe }))
    expect(probe.streams.map((s) => s.codec_name).sort()).toEqual(['opus', 'opus', 'vp8', 'vp8'])
    const duration = Number(probe.format.duration)
    // span: from alice's "recording" to her stop; 8.28 s of 8.62 s on the first run (her stop reaches the relay last)
    expect(Math.abs(duration - span)).toBeLessThan(1)
    for (const v of probe.streams.filter((s) => s.codec_type === 'video')) expect(Number(v.nb_read_frames)).toBeGreaterThan(duration * 5)
  })

  it('bob refuses: alice\'s startRecording() rejects with RecordingRefusedError and his words; the relay records nothing', async () => {
    const before = await readdir(recordings()).catch(() => [] as string[])
    const { alice, bob } = await connected()
    await run(bob, (sdk) => { sdk.answerRecording('refuse', 'not today') })
    const result = await run(alice, async (sdk) => sdk.startRecording())
    expect(result).toMatchObject({ name: 'RecordingRefusedError' })
    expect((result as PageError).message).toContain('not today')
    expect((await events(bob)).map((e) => e.state)).toEqual(['asked', 'refused'])
    expect((await events(alice)).map((e) => [e.state, e.by, e.reason])).toEqual([['asking', undefined, undefined], ['refused', 'remote', 'not today']])
    expect(await readdir(recordings()).catch(() => [] as string[])).toEqual(before)
    expect(await run(alice, (sdk) => sdk.states().at(-1)?.state)).toBe('connected')
  })

  it('alice\'s connection to the relay drops mid-recording: her side uploads again by itself (starting, then recording), the call goes on, and the relay\'s file has her as one track with the gap held', async () => {
    const { alice, bob } = await connected()
    const started = await run(alice, async (sdk) => sdk.startRecording())
    if ('name' in started) throw new Error(`startRecording: ${(started as PageError).name}: ${(started as PageError).message}`)
    await until('bob records', async () => events(bob), (e) => e.some((x) => x.state === 'recording'), 20_000)
    await new Promise((resolve) => setTimeout(resolve, 3_000))
    expect(await run(alice, (sdk) => sdk.dropRelayConnections())).toBeGreaterThan(0)
    const back = await until('alice records again', async () => events(alice), (e) => e.filter((x) => x.state === 'recording').length >= 2, 30_000)
    expect(back.map((e) => e.state)).toEqual(['asking', 'recording', 'starting', 'recording'])
    expect(await run(alice, (sdk) => sdk.states().at(-1)?.state)).toBe('connected')
    // bob never stopped
    expect((await events(bob)).map((e) => e.state)).toEqual(['asked', 'starting', 'recording'])
    await new Promise((resolve) => setTimeout(resolve, 3_000))
    await run(alice, async (sdk) => sdk.stopRecording())
    const sidecarFile = join(recordings(), `${started.id}.json`)
    const sidecar = await until('the relay finishes the file', async () => JSON.parse(await readFile(sidecarFile, 'utf8').catch(() => '{}')) as Partial<RecordingSidecar>,
      (s) => s.status === 'complete' || s.status === 'failed', 30_000)
    expect(sidecar.status).toBe('complete')
    // alice's two uploads and bob's one
    expect(sidecar.parts).toHaveLength(3)
    expect(ffprobe(join(recordings(), `${started.id}.webm`)).streams.map((s) => s.codec_name).sort()).toEqual(['opus', 'opus', 'vp8', 'vp8'])
  })

  it('startStream(): alice asks, bob agrees, both see "live"; nginx gets H.264 1280x360 and AAC; nginx restarted mid-stream: both see "reconnecting", then "live" within 5 s of its return; alice stops: both "stopped"', async () => {
    const { alice, bob } = await connected()
    const url = nginx!.url(`call-${Date.now()}`)
    const started = await run(alice, async (sdk, u) => sdk.startStream(u as string), url)
    if ('name' in started) throw new Error(`startStream: ${(started as PageError).name}: ${(started as PageError).message}`)
    expect(started).toMatchObject({ kind: 'stream', state: 'live', askedBy: 'local', url })
    const streamEvents = async (page: Page): Promise<RecordingChange[]> => run(page, (sdk) => sdk.streamEvents())
    const bobLive = await until('bob live', async () => streamEvents(bob), (e) => e.some((x) => x.state === 'live'), 20_000)
    expect(bobLive.map((e) => e.state)).toEqual(['asked', 'starting', 'live'])
    expect(bobLive[0]).toMatchObject({ kind: 'stream', url })
    const probe = await probeRtmp(url, 3)
    console.log('[sdk-stream] rtmp', JSON.stringify(probe))
    expect(probe.streams.find((x) => x.codec_type === 'video')).toMatchObject({ codec_name: 'h264', width: 1280, height: 360 })
    expect(probe.streams.find((x) => x.codec_type === 'audio')).toMatchObject({ codec_name: 'aac' })
    expect(Number(probe.streams.find((x) => x.codec_type === 'video')?.nb_read_frames)).toBeGreaterThan(40)

    await nginx!.stop()
    await until('alice reconnecting', async () => streamEvents(alice), (e) => e.some((x) => x.state === 'reconnecting'), 15_000)
    await new Promise((resolve) => setTimeout(resolve, 2_000))
    await nginx!.start()
    const back = Date.now()
    const again = await until('alice live again', async () => streamEvents(alice), (e) => e.filter((x) => x.state === 'live').length >= 2, 15_000)
    const gap = Date.now() - back
    console.log(`[sdk-stream] live again ${gap} ms after nginx returned; alice's states ${again.map((e) => e.state).join(' ')}`)
    expect(gap).toBeLessThan(5_000)
    expect((await probeRtmp(url, 2)).streams.find((x) => x.codec_type === 'video')?.codec_name).toBe('h264')
    await until('bob live again', async () => streamEvents(bob), (e) => e.filter((x) => x.state === 'live').length >= 2, 10_000)

    await run(alice, async (sdk) => sdk.stopStream())
    const bobEnd = await until('bob stops', async () => streamEvents(bob), (e) => e.some((x) => x.state === 'stopped'), 10_000)
    expect(bobEnd.at(-1)).toMatchObject({ state: 'stopped', by: 'remote' })
    expect(await run(alice, (sdk) => sdk.states().at(-1)?.state)).toBe('connected')
    // the relay ends the push: nothing to read there any more
    await until('the push ends', async () => probeRtmp(url, 1).then(() => 'still there', () => 'gone'), (r) => r === 'gone', 10_000)
  })

  it('startStream() to a host the relay does not list is refused by the relay (RecordingFailedError, limit); bob refusing a stream rejects with RecordingRefusedError and nothing reaches nginx', async () => {
    const { alice, bob } = await connected()
    const elsewhere = await run(alice, async (sdk) => sdk.startStream('rtmp://127.0.0.1:1/live/not-listed'))
    expect(elsewhere).toMatchObject({ name: 'RecordingFailedError' })
    expect((elsewhere as PageError).message).toMatch(/streams only to the hosts its operator lists/)
    await run(bob, (sdk) => { sdk.answerRecording('refuse', 'no streaming') })
    const url = nginx!.url(`refused-${Date.now()}`)
    const refused = await run(alice, async (sdk, u) => sdk.startStream(u as string), url)
    expect(refused).toMatchObject({ name: 'RecordingRefusedError' })
    expect((refused as PageError).message).toContain('no streaming')
    await expect(probeRtmp(url, 1)).rejects.toThrow()
  })
})

