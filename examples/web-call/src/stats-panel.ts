// The stats panel: call.stats() once a second while a call is up.
import { byId, describeError, kbps } from './dom.js'
import type { AicStats, Call, CallStats } from '@auralink/sdk'

const INTERVAL_MS = 1000

const cells = {
  path: byId('stats-path', HTMLElement),
  rtt: byId('stats-rtt', HTMLElement),
  in: byId('stats-in', HTMLElement),
  out: byId('stats-out', HTMLElement),
  lost: byId('stats-lost', HTMLElement),
  codecs: byId('stats-codecs', HTMLElement),
  video: byId('stats-video', HTMLElement),
  aic: byId('aic-badge', HTMLElement)
}

function render (s: CallStats): void {
  const path = s.candidates !== undefined ? `${s.path} (${s.candidates.local} ↔ ${s.candidates.remote})` : s.path
  cells.path.textContent = path
  cells.path.dataset.path = s.path
  cells.rtt.textContent = s.rttMs !== undefined ? `${s.rttMs.toFixed(s.rttMs < 10 ? 1 : 0)} ms` : '–'
  cells.in.textContent = kbps(s.bitrateIn)
  cells.out.textContent = kbps(s.bitrateOut)
  cells.lost.textContent = String(s.packetsLost)
  const codecs = [s.codecs.video, s.codecs.audio].filter((c) => c !== undefined).map((c) => c.split('/')[1] ?? c)
  cells.codecs.textContent = codecs.length > 0 ? codecs.join(', ') : '–'
  const v = s.video
  cells.video.textContent = v?.width !== undefined && v.height !== undefined
    ? `${v.width}×${v.height}${v.framesPerSecond !== undefined ? ` @ ${Math.round(v.framesPerSecond)} fps` : ''}`
    : '–'
  renderAic(s.aic)
}

/**
 * The AIC badge: the mode in force and the scale this side sends at, the bitrate the controller
 * asks for, and what the receiving side restores; its title gives the controller's reason or the
 * last fallback.
 */
function renderAic (a: AicStats | undefined): void {
  const badge = cells.aic
  if (a === undefined) { badge.textContent = '–'; badge.dataset.state = 'off'; badge.title = ''; return }
  badge.dataset.state = a.state === 'active' && a.scale > 1 ? 'on' : a.state
  const sending = a.state === 'active'
    ? `${a.mode}, sending at 1/${a.scale}${a.targetBitrateBps !== undefined ? ` · ${kbps(a.targetBitrateBps)}` : ''}`
    : a.state === 'negotiating' ? 'negotiating' : 'plain'
  const receiving = a.framesEnhanced > 0 || a.receivingScale > 1
    ? ` · restoring ${a.receivingScale}x (${a.framesEnhanced} frames${a.enhanceMs !== undefined ? `, ${Math.round(a.enhanceMs.p50)} ms` : ''})`
    : ''
  badge.textContent = `${sending}${receiving}`
  badge.title = a.fallback !== undefined ? `fell back: ${a.fallback.reason}` : (a.reason ?? '')
}

function clear (): void {
  for (const cell of Object.values(cells)) cell.textContent = '–'
  delete cells.path.dataset.path
  cells.aic.dataset.state = 'off'
  cells.aic.title = ''
}

/** Refreshes the panel from `call` every second until the returned function is called. */
export function watchStats (call: Call): () => void {
  let busy = false
  const tick = (): void => {
    if (busy || call.state === 'ended') return
    busy = true
    call.stats()
      .then(render)
      .catch((err: unknown) => { cells.path.textContent = `stats failed: ${describeError(err)}` })
      .finally(() => { busy = false })
  }
  tick()
  const timer = setInterval(tick, INTERVAL_MS)
  return () => {
    clearInterval(timer)
    clear()
  }
}
