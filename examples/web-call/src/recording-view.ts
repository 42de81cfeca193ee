// Recording a call (the relay must run --recording): the Record / Stop button, the other side's
// ask (Allow / Refuse), and the red REC indicator, shown only while the relay writes this side's
// media, so the user always sees when they are being recorded.
import { action, byId } from './dom.js'
import type { Call, RecordingChange } from '@auralink/sdk'

const el = {
  button: byId('record', HTMLButtonElement),
  state: byId('rec-state', HTMLSpanElement),
  indicator: byId('rec-indicator', HTMLSpanElement),
  ask: byId('rec-ask', HTMLDivElement),
  askFrom: byId('rec-ask-from', HTMLElement),
  allow: byId('rec-allow', HTMLButtonElement),
  refuse: byId('rec-refuse', HTMLButtonElement)
}

/** States in which the button stops (or withdraws) rather than starts. */
const UNDER_WAY = new Set(['asking', 'starting', 'recording'])

const WORDS: Record<RecordingChange['state'], (r: RecordingChange) => string> = {
  asking: () => 'asking to record…',
  asked: () => '',
  starting: () => 'starting the recording…',
  recording: () => 'recording',
  stopped: (r) => `recording stopped${r.by === 'remote' ? ' by them' : r.by === 'relay' ? ` by the relay (${r.reason ?? ''})` : ''}`,
  refused: (r) => r.by === 'remote' ? `they refused to be recorded${r.reason !== undefined && r.reason !== '' ? ` (${r.reason})` : ''}` : 'you refused the recording',
  failed: (r) => `recording failed: ${r.reason ?? ''}`
}

let current: Call | undefined

function render (call: Call): void {
  if (call !== current) return
  const r = call.recording
  const live = call.state !== 'ended'
  el.indicator.hidden = r?.state !== 'recording'
  el.indicator.dataset.id = r?.id ?? ''
  el.ask.hidden = r?.state !== 'asked' || !live
  el.state.textContent = r === undefined ? '' : WORDS[r.state](r)
  el.state.dataset.state = r?.state ?? 'none'
  el.button.disabled = !live || call.state !== 'connected' || r?.state === 'asked'
  el.button.textContent = r !== undefined && UNDER_WAY.has(r.state) ? 'Stop recording' : 'Record'
}

/** Wires the recording controls to `call` (the call on screen) until the next one. */
export function showRecording (call: Call, who: string): void {
  current = call
  el.askFrom.textContent = who
  render(call)
  call.addEventListener('recording', () => { render(call) })
  call.addEventListener('state', () => { render(call) })
}

el.button.addEventListener('click', action(async () => {
  const call = current
  if (call === undefined) return
  const r = call.recording
  if (r !== undefined && UNDER_WAY.has(r.state)) await call.stopRecording()
  // the relay: this client's best one; its state shows as it goes (refusals included, via the event)
  else await call.startRecording().catch((err: Error) => { if (err.name !== 'RecordingRefusedError') throw err })
}, 'recording'))

el.allow.addEventListener('click', action(async () => { await current?.acceptRecording() }, 'accepting the recording'))
el.refuse.addEventListener('click', action(async () => { await current?.refuseRecording('declined') }, 'refusing the recording'))
