/**
 * AIC's call signalling (protos/signal.proto: AicCapability, AicReport, AicSwitch,
 * AicWeightUpdate) checked on
 * arrival: a peer's message is hostile until these checks pass, and a bad one is dropped with a
 * reason (the call goes on, plain).
 */
import type { SignalMessage } from '@auralink/protocol'

/** The modes of AIC for a call's video (docs/aic.md "AIC in calls"). */
export type AicMode = 'off' | 'conservative' | 'adaptive' | 'aggressive'
/** The upscaling factors a sender may use: 1 is full size (plain). */
export type AicScale = 1 | 1.5 | 2

export const AIC_MODES: readonly AicMode[] = ['off', 'conservative', 'adaptive', 'aggressive']
/** `mode` if it is one of AIC_MODES; a TypeError naming `what` otherwise. */
export function checkAicMode (mode: unknown, what: string): AicMode {
  if (typeof mode !== 'string' || !(AIC_MODES as readonly string[]).includes(mode)) {
    throw new TypeError(`${what} must be one of ${AIC_MODES.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(mode)}`)
  }
  return mode as AicMode
}

/** EnhanceMode on the wire (protos/aic.proto) is the index in AIC_MODES. */
export const modeToWire = (m: AicMode): number => AIC_MODES.indexOf(m)
export const modeFromWire = (n: number): AicMode | undefined => AIC_MODES[n]

type Body<K extends keyof SignalMessage> = NonNullable<SignalMessage[K]>
export type AicCapabilityWire = Body<'aicCapability'>
export type AicReportWire = Body<'aicReport'>
export type AicSwitchWire = Body<'aicSwitch'>
export type AicWeightUpdateWire = Body<'aicWeightUpdate'>

/** One AIC message from the peer, as the call machine hands it on. */
export type AicSignal =
  | { type: 'capability', capability: AicCapabilityWire }
  | { type: 'report', report: AicReportWire }
  | { type: 'switch', switch: AicSwitchWire }
  | { type: 'weightUpdate', update: AicWeightUpdateWire }

/** A peer's capability after the checks. */
export interface PeerAicCapability {
  available: boolean
  reason?: string
  mode: AicMode
  /** `adaptive`: the peer applies AicWeightUpdates for this model (tool 1's adaptive mode). */
  models: Array<{ scale: AicScale, version: number, msPerFrame: number, width: number, height: number, adaptive: boolean }>
  runtime?: string
  metaInFrame: boolean
}

export interface PeerAicReport {
  enhanceMsP50: number
  enhanceMsP95: number
  framesEnhanced: number
  framesPassedThrough: number
}

const MAX_MODELS = 8
const MAX_REASON = 256

function scaleFromX100 (x: number): AicScale | undefined {
  return x === 200 ? 2 : x === 150 ? 1.5 : x === 100 ? 1 : undefined
}
export function scaleToX100 (s: AicScale): number { return Math.round(s * 100) }
export { scaleFromX100 }

const finiteMs = (v: number | null | undefined): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 && v < 60_000 ? v : undefined

/** Checks a peer's AicCapability; throws a TypeError naming the bad field. */
export function checkCapability (c: AicCapabilityWire): PeerAicCapability {
  const mode = modeFromWire(c.mode ?? 0)
  if (mode === undefined) throw new TypeError(`AicCapability.mode must be 0 to 3, got ${c.mode}`)
  const reason = c.reason ?? ''
  if (reason.length > MAX_REASON) throw new TypeError(`AicCapability.reason is ${reason.length} characters, over ${MAX_REASON}`)
  const models = c.models ?? []
  if (models.length > MAX_MODELS) throw new TypeError(`AicCapability.models has ${models.length} entries, over ${MAX_MODELS}`)
  const runtime = c.runtime ?? ''
  if (runtime !== '' && runtime !== 'wasm' && runtime !== 'webgpu') throw new TypeError(`AicCapability.runtime must be "wasm" or "webgpu", got ${JSON.stringify(runtime.slice(0, 20))}`)
  const checked = models.map((m, i) => {
    const scale = scaleFromX100(m.scaleX100 ?? 0)
    if (scale === undefined || scale === 1) throw new TypeError(`AicCapability.models[${i}].scale_x100 must be 150 or 200, got ${m.scaleX100}`)
    const msPerFrame = finiteMs(m.msPerFrame)
    if (msPerFrame === undefined) throw new TypeError(`AicCapability.models[${i}].ms_per_frame must be a time in ms, got ${m.msPerFrame}`)
    const width = m.width ?? 0
    const height = m.height ?? 0
    if (width < 1 || width > 8192 || height < 1 || height > 8192) throw new TypeError(`AicCapability.models[${i}] size must be 1 to 8192 on each side, got ${width}x${height}`)
    return { scale, version: m.version ?? 0, msPerFrame, width, height, adaptive: m.adaptive === true }
  })
  return {
    available: c.available === true && checked.length > 0,
    ...(reason !== '' ? { reason } : c.available === true && checked.length === 0 ? { reason: 'the peer named no enhancer model' } : {}),
    mode,
    models: checked,
    ...(runtime !== '' ? { runtime } : {}),
    metaInFrame: c.metaInFrame === true
  }
}

/** Checks a peer's AicReport; throws a TypeError naming the bad field. */
export function checkReport (r: AicReportWire): PeerAicReport {
  const p50 = finiteMs(r.enhanceMsP50 ?? 0)
  const p95 = finiteMs(r.enhanceMsP95 ?? 0)
  if (p50 === undefined || p95 === undefined) throw new TypeError(`AicReport enhancer times must be ms from 0 to 60000, got ${r.enhanceMsP50} / ${r.enhanceMsP95}`)
  return { enhanceMsP50: p50, enhanceMsP95: p95, framesEnhanced: r.framesEnhanced ?? 0, framesPassedThrough: r.framesPassedThrough ?? 0 }
}
