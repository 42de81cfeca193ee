// Recording a call (the relay must run --recording) and streaming it out over RTMP (the relay must
// also list the URL's host: --stream-host): each has a start / stop button, the other side's ask
// (Allow / Refuse) and a red indicator (REC, LIVE) shown only while the relay writes this side's
// media or the RTMP server takes the stream, so the user always sees when they are recorded or live.
import { action, byId } from './dom.js'
import type { Call, RecordingChange } from '@auralink/sdk'

interface Controls {
  kind: 'recording' | 'stream'
  button: HTMLButtonElement
  state: HTMLSpanElement
  indicator: HTMLSpanElement
  ask: HTMLDivElement
  askFrom: HTMLElement
  allow: HTMLButtonElement
  refuse: HTMLButtonElement
  /** The states the indicator shows in. */
  on: Set<RecordingChange['state']>
  words: Record<RecordingChange['state'], (r: RecordingChange) => string>
  startLabel: string
  stopLabel: string
}

/** States in which the button stops (or withdraws) rather than starts. */
const UNDER_WAY = new Set<RecordingChange['state']>(['asking', 'starting', 'recording', 'live', 'reconnecting'])

/** A stream URL's host and path, without its last part (the stream key is a secret). */
function shown (url: string | undefined): string {
  if (url === undefined) return ''
  const cut = url.lastIndexOf('/')
  return cut > url.indexOf('//') + 1 ? `${url.slice(0, cut)}/…` : url
}

const ended = (what: string) => ({
  stopped: (r: RecordingChange) => `${what} stopped${r.by === 'remote' ? ' by them' : r.by === 'relay' ? ` by the relay (${r.reason ?? ''})` : ''}`,
  refused: (r: RecordingChange) => r.by === 'remote' ? `they refused the ${what}${r.reason !== undefined && r.reason !== '' ? ` (${r.reason})` : ''}` : `you refused the ${what}`,
  failed: (r: RecordingChange) => `${what} failed: ${r.reason ?? ''}`
})

const recording: Controls = {
  kind: 'recording',
  button: byId('record', HTMLButtonElement),
  state: byId('rec-state', HTMLSpanElement),
  indicator: byId('rec-indicator', HTMLSpanElement),
  ask: byId('rec-ask', HTMLDivElement),
  askFrom: byId('rec-ask-from', HTMLElement),
  allow: byId('rec-allow', HTMLButtonElement),
  refuse: byId('rec-refuse', HTMLButtonElement),
  on: new Set(['recording']),
  words: {
    asking: () => 'asking to record…',
    asked: () => '',
    starting: () => 'starting the recording…',
    recording: () => 'recording',
    live: () => '',
    reconnecting: () => '',
    ...ended('recording')
  },
  startLabel: 'Record',
  stopLabel: 'Stop recording'
}

const streamUrl = byId('stream-url', HTMLInputElement)
const stream: Controls = {
  kind: 'stream',
  button: byId('stream', HTMLButtonElement),
  state: byId('live-state', HTMLSpanElement),
  indicator: byId('live-indicator', HTMLSpanElement),
  ask: byId('live-ask', HTMLDivElement),
  askFrom: byId('live-ask-from', HTMLElement),
  allow: byId('live-allow', HTMLButtonElement),
  refuse: byId('live-refuse', HTMLButtonElement),
  on: new Set(['live', 'reconnecting']),
  words: {
    asking: (r) => `asking to stream to ${shown(r.url)}…`,
    asked: () => '',
    starting: () => 'starting the stream…',
    recording: () => '',
    live: (r) => `live at ${shown(r.url)}`,
    reconnecting: () => 'the RTMP server dropped the stream: reconnecting…',
    ...ended('stream')
  },
  startLabel: 'Stream',
  stopLabel: 'Stop stream'
}

let current: Call | undefined

function render (c: Controls, call: Call): void {
  if (call !== current) return
  const r = c.kind === 'recording' ? call.recording : call.streaming
  const live = call.state !== 'ended'
  c.indicator.hidden = r === undefined || !c.on.has(r.state)
  c.indicator.dataset.id = r?.id ?? ''
  c.indicator.dataset.state = r?.state ?? 'none'
  c.ask.hidden = r?.state !== 'asked' || !live
  if (c.kind === 'stream') byId('live-ask-to', HTMLElement).textContent = shown(r?.url)
  c.state.textContent = r === undefined ? '' : c.words[r.state](r)
  c.state.dataset.state = r?.state ?? 'none'
  c.button.disabled = !live || call.state !== 'connected' || r?.state === 'asked'
  c.button.textContent = r !== undefined && UNDER_WAY.has(r.state) ? c.stopLabel : c.startLabel
  if (c.kind === 'stream') streamUrl.disabled = c.button.disabled || (r !== undefined && UNDER_WAY.has(r.state))
}

/** Wires the recording and streaming controls to `call` (the call on screen) until the next one. */
export function showRecording (call: Call, who: string): void {
  current = call
  for (const c of [recording, stream]) {
    c.askFrom.textContent = who
    render(c, call)
    call.addEventListener(c.kind, () => { render(c, call) })
    call.addEventListener('state', () => { render(c, call) })
  }
}

recording.button.addEventListener('click', action(async () => {
  const call = current
  if (call === undefined) return
  const r = call.recording
  if (r !== undefined && UNDER_WAY.has(r.state)) await call.stopRecording()
  // the relay: this client's best one; its state shows as it goes (refusals included, via the event)
  else await call.startRecording().catch((err: Error) => { if (err.name !== 'RecordingRefusedError') throw err })
}, 'recording'))

stream.button.addEventListener('click', action(async () => {
  const call = current
  if (call === undefined) return
  const r = call.streaming
  if (r !== undefined && UNDER_WAY.has(r.state)) await call.stopStream()
  else await call.startStream({ url: streamUrl.value.trim() }).catch((err: Error) => { if (err.name !== 'RecordingRefusedError') throw err })
}, 'streaming'))

recording.allow.addEventListener('click', action(async () => { await current?.acceptRecording() }, 'accepting the recording'))
recording.refuse.addEventListener('click', action(async () => { await current?.refuseRecording('declined') }, 'refusing the recording'))
stream.allow.addEventListener('click', action(async () => { await current?.acceptStream() }, 'accepting the stream'))
stream.refuse.addEventListener('click', action(async () => { await current?.refuseStream('declined') }, 'refusing the stream'))
