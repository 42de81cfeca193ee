/**
 * The AIC mode controller: which scale (1: plain VP8 at full size; 1.5 or 2: VP8 at 1/scale the
 * size, restored by the receiver's enhancer) and which bitrate cap the sender should use, from
 * the network's and the receiver's measurements. It is pure: no timers, no I/O; time comes in
 * with each observation (`atMs`, monotonic), so a trace replays the same way every time.
 *
 * The rules, with the defaults of {@link AIC_CONTROLLER_DEFAULTS}:
 *
 * 1. Budget. The video budget is the sender's `availableBitrateBps` (candidate-pair
 *    availableOutgoingBitrate) x `headroom` (0.85); above 5% loss it is cut to 0.75 of that,
 *    above 10% to 0.5; never below `floorBps` (50 kbps). An observation without a bitrate or a
 *    loss figure keeps the last one seen; with no bitrate ever seen the decision holds.
 *    `rttMs` is checked, but no rule uses it: the crossover table was measured without delay,
 *    and nothing yet ties RTT to AIC's gain.
 * 2. Quality floor. The budget's bits per pixel of the full-size frame (budget / (width x height
 *    x fps)) are looked up in the crossover table ({@link lookupGain}) for each scale both ends
 *    can run. A scale is a candidate only where the table says it beats plain VP8 in SSIM by the
 *    mode's margin: conservative: p25 of the clips' SSIM deltas >= +0.002 (it wins on three
 *    clips in four); adaptive: median >= +0.001; aggressive: median > 0. A scale the table says
 *    loses, or has no data for (outside its measured range), is never entered. Between two
 *    candidates the larger gain (of the mode's statistic) wins; on a tie, the smaller scale.
 * 3. Receiver speed. A scale is not entered when the receiver's enhancer time per frame at it
 *    (the p95 its reports gave while in that scale in the last 60 s, else `receiverMsPerFrame`
 *    from its capabilities, both scaled by pixel count when the frame size changes; unknown:
 *    allowed) is over the frame interval (1000 / fps) x 0.9. The scale the call is in is held to
 *    the fallback rule instead, so that entering is stricter than staying. While in a scale, a
 *    receiver report window (from one report to the next, at least 15 frames, only reports made
 *    after the switch) in which it passed more than 20% of frames through unenhanced, or a report
 *    whose p95 is over twice the frame interval, makes the controller fall back to scale 1 at once and
 *    record `fallback`; that scale then waits 30 s before it may be entered again, 60 s after a
 *    second fallback, doubling up to 240 s (the doubling does not reset within a call). The p95
 *    measured before a fallback is forgotten, so after the wait the scale is tried again on the
 *    capability's figure.
 * 4. Severe loss. At or above 20% loss the table's figures (measured without loss) do not hold:
 *    the controller falls back to scale 1 at once, records `fallback`, and enters no scale while
 *    the loss stays there (no extra wait: the loss itself blocks it).
 * 5. Hysteresis. Any other change of scale needs its target to hold for 3 consecutive updates and
 *    `minDwellMs` (5000) since the last switch, so there is at most one switch per dwell. The
 *    switches that skip both: the fallbacks of rules 3 and 4, `setMode('off')`, `setScales([])`
 *    and a scale the peer no longer offers (these are facts, not estimates). A fallback counts as
 *    a switch for the next one's dwell.
 * 6. Bitrate cap. In a scale, `maxBitrateBps` is the budget (rounded to 1 kbps): the table's claim
 *    is for that rate, and it leaves room for audio and data. It drops at once when the budget
 *    falls over 10% below it, and rises only after the budget has been over 10% above it for 3
 *    consecutive updates (and never while a switch away from the scale is pending). At scale 1,
 *    in every mode, it is undefined: Chromium's own congestion
 *    control runs plain VP8 as it would without AIC (a cap from its own estimate would only slow
 *    its probing).
 * 7. `setMode('off')` or `setScales([])` put the call at scale 1 at the next update, with the
 *    reason 'AIC off' or 'the peer has no AIC'. `setMode`, `setFrame` and `setScales` all take
 *    effect at the next update.
 *
 * Each decision carries a short reason with its numbers, e.g.
 * "2x: +0.0065 SSIM over VP8 at 0.018 bpp (median of 4 clips), budget 128 kbps".
 */
import { checkFrame, checkMode, checkNumber, checkScales, fail } from './aic-controller-checks.js'
import { lookupGain, parseCrossoverTable } from './crossover.js'
import type { CrossoverTable, GainStats } from './crossover.js'

/** How hard the controller leans on AIC (see the file's rules). */
export type AicMode = 'conservative' | 'adaptive' | 'aggressive'
/** 1 is plain VP8 at full size. */
export type AicScale = 1 | 1.5 | 2

/** The sender's captured video: full-size width, height and frame rate. */
export interface AicFrame {
  /** Full-size width the sender captures, in pixels. */
  width: number
  height: number
  fps: number
}

/** Options of `createAicController()`. */
export interface AicControllerInit {
  /** 'off' keeps the call at scale 1 until setMode() says otherwise. */
  mode: AicMode | 'off'
  /** The crossover table (e.g. shippedCrossoverTable()); checked again here. */
  table: CrossoverTable
  /** What the sender captures (full size). */
  frame: AicFrame
  /** Scales both ends can run (the capability intersection), e.g. [2, 1.5]; [] = never AIC. */
  scales: number[]
  /** The receiver's measured enhancer ms per frame at each scale ("2", "1.5") at this frame size. */
  receiverMsPerFrame?: Record<string, number>
  /**
   * At most one (non-fallback) switch of scale per this long.
   * @default 5000
   */
  minDwellMs?: number
}

/** The latest receiver report (cumulative counters since the receiver's pipeline started). */
export interface AicReceiverReport {
  /** p95 of the enhancer's ms per frame over the receiver's last report window. */
  enhanceMsP95?: number
  framesEnhanced: number
  framesPassedThrough: number
  /** When the report was made, on the same monotonic clock as the observation's atMs. */
  atMs: number
}

/** One update's measurements. */
export interface AicObservation {
  /** Monotonic ms, passed in; must not go back. */
  atMs: number
  /** The sender's availableOutgoingBitrate (candidate-pair stats). */
  availableBitrateBps?: number
  /** 0..1, remote-inbound-rtp fractionLost. */
  lossFraction?: number
  rttMs?: number
  /** The latest report from the receiver; the same report passed again is not counted twice. */
  receiver?: AicReceiverReport
}

/** What the controller tells the sender: the scale to send at and the bitrate cap. */
export interface AicDecision {
  scale: AicScale
  /** The sender's encoding cap; undefined: leave Chromium's own control. */
  maxBitrateBps?: number
  /** A short human sentence with the numbers behind the decision. */
  reason: string
}

/** Why and when the controller fell back to the plain native path. */
export interface AicFallback {
  reason: string
  atMs: number
}

/** AIC's mode controller for one call's video: picks scale and bitrate cap from network observations; made by `createAicController()`. */
export interface AicController {
  /** Feeds one observation; returns the decision and whether it differs (scale or cap) from the last one. */
  update (obs: AicObservation): { decision: AicDecision, changed: boolean }
  /** The current decision. */
  readonly decision: AicDecision
  /** The last fallback to scale 1 and why (receiver too slow, severe loss). */
  readonly fallback: AicFallback | undefined
  /** Switches the mode; 'off' holds scale 1. */
  setMode (mode: AicMode | 'off'): void
  /** The sender's capture size and frame rate changed. */
  setFrame (frame: AicFrame): void
  /** The scales both sides can use (the receiver's enhancer models). */
  setScales (scales: number[]): void
}

/** The controller's tuning, in one place (the file's doc comment says what each does). */
export const AIC_CONTROLLER_DEFAULTS = {
  headroom: 0.85,
  /** Loss back-off steps, highest first: above `above`, the budget is multiplied by `factor`. */
  lossBackOff: [{ above: 0.10, factor: 0.5 }, { above: 0.05, factor: 0.75 }],
  floorBps: 50_000,
  /** At or above this loss: fall back to scale 1 at once and enter no scale. */
  severeLossFraction: 0.2,
  /** Per mode: which statistic of the SSIM delta must reach which margin (strict: over it). */
  modes: {
    conservative: { stat: 'p25', margin: 0.002, strict: false },
    adaptive: { stat: 'median', margin: 0.001, strict: false },
    aggressive: { stat: 'median', margin: 0, strict: true }
  },
  /** A scale is entered only if the receiver's ms per frame <= frame interval x this. */
  receiverSpeedFactor: 0.9,
  /**
   * In a scale: a report whose p95 is over the frame interval x this is a fallback. Not 1: a p95
   * just over the interval means about one frame in twenty (and the one after it) passed through,
   * which the pass-through rule below judges; a tail at twice the interval is a receiver that
   * cannot keep up (seen: p50 55 ms, p95 220 ms on a loaded 2-core machine at 100 ms a frame).
   */
  fallbackP95Factor: 2,
  /** In a scale: more than this share of frames passed through in a report window is a fallback. */
  maxPassThroughFraction: 0.2,
  /** A report window with fewer frames is not judged (it grows until it has them). */
  minWindowFrames: 15,
  /** A p95 from the receiver's reports stands for its scale this long; later the capability's figure does. */
  measuredForMs: 60_000,
  backOffMs: 30_000,
  maxBackOffMs: 240_000,
  /** Consecutive updates a switch's target (or a rise of the cap) must hold. */
  holdUpdates: 3,
  minDwellMs: 5000,
  /** The cap moves when the budget is more than this fraction away from it. */
  capStep: 0.1
} as const

/** One scale's state: its back-off and the receiver's measured speed at it. */
interface ScaleState {
  backOffUntilMs?: number
  backOffMs?: number
  /** The receiver's p95 at this scale, the pixel count of the frame it was measured at, and when. */
  measured?: { ms: number, pixels: number, atMs: number }
}

interface Candidate {
  scale: 1.5 | 2
  gain?: GainStats
  value?: number
  /** Why it is not a candidate; undefined: it is one. */
  blocked?: string
}

const pct = (x: number): string => `${Math.round(x * 100)}%`
const kbps = (bps: number): string => `${Math.round(bps / 1000)} kbps`
const signed = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(4)}`
const bppText = (x: number): string => x.toPrecision(2)

class Controller implements AicController {
  private readonly table: CrossoverTable
  private readonly minDwellMs: number
  private mode: AicMode | 'off'
  private frame: AicFrame
  private scales: Array<1.5 | 2>
  /** The receiver's capability figures and the frame's pixel count they were given for. */
  private readonly capability: Map<number, number>
  private readonly capabilityPixels: number
  private readonly perScale = new Map<number, ScaleState>()
  private current: AicDecision
  private lastFallback: AicFallback | undefined
  private lastAtMs: number | undefined
  private lastSwitchAtMs: number | undefined
  private pending: { scale: AicScale, count: number } | undefined
  private capRises = 0
  private bitrateBps: number | undefined
  private loss = 0
  /** The last receiver report seen, and the start of the window being judged (after the switch). */
  private lastReport: AicReceiverReport | undefined
  private windowStart: AicReceiverReport | undefined
  /** The receiver report of the observation being handled. */
  private receiverReport: AicReceiverReport | undefined

  constructor (init: AicControllerInit) {
    if (typeof init !== 'object' || init === null) fail(TypeError, 'init', 'an object', init)
    this.mode = checkMode(init.mode, 'init.mode')
    if (typeof init.table !== 'object' || init.table === null) fail(TypeError, 'init.table', 'a crossover table (parseCrossoverTable)', init.table)
    try {
      this.table = parseCrossoverTable(init.table)
    } catch (err) {
      const Type = err instanceof RangeError ? RangeError : TypeError
      throw new Type(`init.table is not a valid crossover table: ${(err as Error).message}`, { cause: err })
    }
    this.frame = checkFrame(init.frame, 'init.frame')
    this.scales = checkScales(init.scales, 'init.scales')
    this.capability = new Map()
    if (init.receiverMsPerFrame !== undefined) {
      const r = init.receiverMsPerFrame as unknown
      if (typeof r !== 'object' || r === null || Array.isArray(r)) fail(TypeError, 'init.receiverMsPerFrame', 'an object such as { "2": 18, "1.5": 25 }', r)
      for (const [key, ms] of Object.entries(r)) {
        if (key !== '2' && key !== '1.5') fail(RangeError, `init.receiverMsPerFrame key ${JSON.stringify(key)}`, 'a scale ("2" or "1.5")', key)
        this.capability.set(Number(key), checkNumber(ms, `init.receiverMsPerFrame["${key}"]`, { min: 0, above: true, max: 60_000 }))
      }
    }
    this.capabilityPixels = this.frame.width * this.frame.height
    this.minDwellMs = init.minDwellMs === undefined ? AIC_CONTROLLER_DEFAULTS.minDwellMs : checkNumber(init.minDwellMs, 'init.minDwellMs', { max: 3_600_000 })
    this.current = { scale: 1, reason: this.offReason() ?? 'plain VP8: no measurements yet' }
  }

  get decision (): AicDecision { return { ...this.current } }
  get fallback (): AicFallback | undefined { return this.lastFallback === undefined ? undefined : { ...this.lastFallback } }

  setMode (mode: AicMode | 'off'): void {
    this.mode = checkMode(mode, 'mode')
    this.pending = undefined
  }

  setFrame (frame: AicFrame): void {
    this.frame = checkFrame(frame, 'frame')
  }

  setScales (scales: number[]): void {
    this.scales = checkScales(scales, 'scales')
  }

  update (obs: AicObservation): { decision: AicDecision, changed: boolean } {
    this.take(obs)
    const atMs = obs.atMs
    const before = this.current
    this.current = this.decide(atMs)
    this.lastAtMs = atMs
    const changed = before.scale !== this.current.scale || before.maxBitrateBps !== this.current.maxBitrateBps
    return { decision: this.decision, changed }
  }

  /** Checks an observation and keeps its figures. */
  private take (obs: AicObservation): void {
    if (typeof obs !== 'object' || obs === null) fail(TypeError, 'obs', 'an object', obs)
    const atMs = checkNumber(obs.atMs, 'obs.atMs')
    if (this.lastAtMs !== undefined && atMs < this.lastAtMs) throw new RangeError(`obs.atMs must not go back, got ${atMs} after ${this.lastAtMs}`)
    const bitrate = obs.availableBitrateBps === undefined ? undefined : checkNumber(obs.availableBitrateBps, 'obs.availableBitrateBps', { max: 1e12 })
    const loss = obs.lossFraction === undefined ? undefined : checkNumber(obs.lossFraction, 'obs.lossFraction', { max: 1 })
    if (obs.rttMs !== undefined) checkNumber(obs.rttMs, 'obs.rttMs', { max: 600_000 }) // checked; no rule uses it (rule 1)
    const r = obs.receiver
    if (r !== undefined) {
      if (typeof r !== 'object' || r === null) fail(TypeError, 'obs.receiver', 'an object', r)
      checkNumber(r.framesEnhanced, 'obs.receiver.framesEnhanced', { integer: true, max: Number.MAX_SAFE_INTEGER })
      checkNumber(r.framesPassedThrough, 'obs.receiver.framesPassedThrough', { integer: true, max: Number.MAX_SAFE_INTEGER })
      checkNumber(r.atMs, 'obs.receiver.atMs')
      if (r.enhanceMsP95 !== undefined) checkNumber(r.enhanceMsP95, 'obs.receiver.enhanceMsP95', { max: 600_000 })
    }
    // all checked: only now does the observation count
    if (bitrate !== undefined) this.bitrateBps = bitrate
    if (loss !== undefined) this.loss = loss
    this.receiverReport = r
  }

  private offReason (): string | undefined {
    if (this.mode === 'off') return 'AIC off'
    if (this.scales.length === 0) return 'the peer has no AIC'
    return undefined
  }

  private get frameIntervalMs (): number { return 1000 / this.frame.fps }
  private get pixels (): number { return this.frame.width * this.frame.height }

  private state (scale: number): ScaleState {
    let s = this.perScale.get(scale)
    if (s === undefined) { s = {}; this.perScale.set(scale, s) }
    return s
  }

  /** The video budget from the last bitrate and loss seen (rule 1); undefined with no bitrate yet. */
  private budgetBps (): number | undefined {
    if (this.bitrateBps === undefined) return undefined
    const d = AIC_CONTROLLER_DEFAULTS
    const step = d.lossBackOff.find((s) => this.loss > s.above)
    return Math.max(d.floorBps, this.bitrateBps * d.headroom * (step?.factor ?? 1))
  }

  /** The receiver's ms per frame at `scale` at the current frame size, if known (rule 3). */
  private receiverMs (scale: number, atMs: number): number | undefined {
    const m = this.state(scale).measured
    if (m !== undefined && atMs - m.atMs <= AIC_CONTROLLER_DEFAULTS.measuredForMs) return m.ms * this.pixels / m.pixels
    const cap = this.capability.get(scale)
    return cap === undefined ? undefined : cap * this.pixels / this.capabilityPixels
  }

  /** Moves to `scale` now (no hold, no dwell). */
  private switchTo (scale: AicScale, atMs: number, reason: string, budget?: number): AicDecision {
    this.pending = undefined
    this.capRises = 0
    this.lastSwitchAtMs = atMs
    this.windowStart = undefined
    return scale === 1 ? { scale, reason } : { scale, maxBitrateBps: Math.round((budget ?? 0) / 1000) * 1000, reason }
  }

  private fallBack (from: 1.5 | 2, atMs: number, why: string, backOff: boolean): AicDecision {
    let reason = `fell back from ${from}x: ${why}`
    if (backOff) {
      const s = this.state(from)
      s.measured = undefined // the back-off covers it; afterwards the scale is tried on the capability's figure
      const d = AIC_CONTROLLER_DEFAULTS
      s.backOffMs = s.backOffMs === undefined ? d.backOffMs : Math.min(d.maxBackOffMs, s.backOffMs * 2)
      s.backOffUntilMs = atMs + s.backOffMs
      reason += `; ${from}x waits ${Math.round(s.backOffMs / 1000)} s`
    }
    this.lastFallback = { reason, atMs }
    return this.switchTo(1, atMs, reason)
  }

  /** Rule 3 while in a scale: judges the receiver's new report, if any; a reason to fall back, or undefined. */
  private judgeReceiver (report: AicReceiverReport | undefined, scale: 1.5 | 2): string | undefined {
    if (report === undefined) return undefined
    const fresh = this.lastReport === undefined || report.atMs !== this.lastReport.atMs ||
      report.framesEnhanced !== this.lastReport.framesEnhanced || report.framesPassedThrough !== this.lastReport.framesPassedThrough
    if (!fresh) return undefined
    this.lastReport = { ...report }
    if (this.lastSwitchAtMs !== undefined && report.atMs < this.lastSwitchAtMs) return undefined // made before the switch
    const interval = this.frameIntervalMs
    const s = this.state(scale)
    if (report.enhanceMsP95 !== undefined) {
      s.measured = { ms: report.enhanceMsP95, pixels: this.pixels, atMs: report.atMs }
      if (report.enhanceMsP95 > interval * AIC_CONTROLLER_DEFAULTS.fallbackP95Factor) {
        return `the receiver's enhancer takes ${report.enhanceMsP95.toFixed(1)} ms per frame (p95), over ${AIC_CONTROLLER_DEFAULTS.fallbackP95Factor} x the ${interval.toFixed(1)} ms frame interval`
      }
    }
    const start = this.windowStart
    if (start === undefined || report.framesEnhanced < start.framesEnhanced || report.framesPassedThrough < start.framesPassedThrough) {
      this.windowStart = { ...report } // the first report after the switch, or the receiver's counters restarted
      return undefined
    }
    const enhanced = report.framesEnhanced - start.framesEnhanced
    const passed = report.framesPassedThrough - start.framesPassedThrough
    const frames = enhanced + passed
    if (frames < AIC_CONTROLLER_DEFAULTS.minWindowFrames) return undefined
    this.windowStart = { ...report }
    if (passed / frames > AIC_CONTROLLER_DEFAULTS.maxPassThroughFraction) {
      return `the receiver passed through ${pct(passed / frames)} of frames (${passed} of ${frames}) in the last ${((report.atMs - start.atMs) / 1000).toFixed(1)} s, over ${pct(AIC_CONTROLLER_DEFAULTS.maxPassThroughFraction)}`
    }
    return undefined
  }

  /** Rules 2 and 3 for one scale at the budget. */
  private candidate (scale: 1.5 | 2, budget: number, atMs: number): Candidate {
    const s = this.state(scale)
    if (s.backOffUntilMs !== undefined && atMs < s.backOffUntilMs) {
      return { scale, blocked: `waits ${Math.ceil((s.backOffUntilMs - atMs) / 1000)} s more after a fallback` }
    }
    // the scale the call is in is held to the fallback rule (p95 over the interval), not this one
    const ms = scale === this.current.scale ? undefined : this.receiverMs(scale, atMs)
    const limit = this.frameIntervalMs * AIC_CONTROLLER_DEFAULTS.receiverSpeedFactor
    if (ms !== undefined && ms > limit) return { scale, blocked: `the receiver needs ${ms.toFixed(1)} ms per frame, over ${limit.toFixed(1)} ms` }
    const bpp = budget / (this.pixels * this.frame.fps)
    const gain = lookupGain(this.table, { height: this.frame.height, bpp, scale })
    if (gain === undefined) return { scale, blocked: 'no table data at this bpp' }
    const rule = AIC_CONTROLLER_DEFAULTS.modes[this.mode as AicMode]
    const value = gain.ssimDelta[rule.stat]
    const wins = rule.strict ? value > rule.margin : value >= rule.margin
    return wins ? { scale, gain, value } : { scale, gain, value, blocked: `${signed(value)} SSIM ${rule.stat}, ${rule.strict ? 'not over' : 'under'} ${signed(rule.margin)}` }
  }

  private decide (atMs: number): AicDecision {
    const cur = this.current
    const off = this.offReason()
    if (off !== undefined) {
      this.pending = undefined
      return cur.scale === 1 ? { scale: 1, reason: off } : this.switchTo(1, atMs, off)
    }
    if (cur.scale !== 1 && !this.scales.includes(cur.scale)) return this.switchTo(1, atMs, `the peer no longer offers ${cur.scale}x`)
    const d = AIC_CONTROLLER_DEFAULTS
    // rules 3 and 4: fallbacks, at once
    if (cur.scale !== 1) {
      const slow = this.judgeReceiver(this.receiverReport, cur.scale)
      if (slow !== undefined) return this.fallBack(cur.scale, atMs, slow, true)
      if (this.loss >= d.severeLossFraction) return this.fallBack(cur.scale, atMs, `${pct(this.loss)} loss, at or over ${pct(d.severeLossFraction)}`, false)
    } else if (this.receiverReport !== undefined) {
      this.lastReport = { ...this.receiverReport }
    }
    const budget = this.budgetBps()
    if (budget === undefined) return { ...cur, reason: cur.scale === 1 ? 'plain VP8: no bandwidth estimate yet' : cur.reason }
    const bpp = budget / (this.pixels * this.frame.fps)
    // rule 2: the target
    let target: AicScale = 1
    let why: string
    let best: Candidate | undefined
    if (this.loss >= d.severeLossFraction) {
      why = `plain VP8: ${pct(this.loss)} loss, at or over ${pct(d.severeLossFraction)}`
    } else {
      const candidates = this.scales.map((s) => this.candidate(s, budget, atMs))
      for (const c of candidates) {
        if (c.blocked !== undefined) continue
        if (best === undefined || c.value! > best.value! || (c.value === best.value && c.scale < best.scale)) best = c
      }
      if (best !== undefined) {
        target = best.scale
        const rule = d.modes[this.mode as AicMode]
        why = `${best.scale}x: ${signed(best.value!)} SSIM over VP8 at ${bppText(bpp)} bpp (${rule.stat} of ${best.gain!.clips} clips), budget ${kbps(budget)}`
      } else {
        why = `plain VP8 at ${bppText(bpp)} bpp, budget ${kbps(budget)}: no AIC scale qualifies in ${this.mode} mode (${candidates.map((c) => `${c.scale}x: ${c.blocked}`).join('; ')})`
      }
    }
    // rule 5: hysteresis
    if (target !== cur.scale) {
      this.pending = this.pending?.scale === target ? { scale: target, count: this.pending.count + 1 } : { scale: target, count: 1 }
      const dwellLeft = this.lastSwitchAtMs === undefined ? 0 : this.minDwellMs - (atMs - this.lastSwitchAtMs)
      if (this.pending.count >= d.holdUpdates && dwellLeft <= 0) return this.switchTo(target, atMs, why, budget)
      const wait = this.pending.count < d.holdUpdates ? `${this.pending.count} of ${d.holdUpdates} updates` : `the dwell ends in ${(dwellLeft / 1000).toFixed(1)} s`
      return { ...this.capped(cur, budget, false), reason: `${cur.scale === 1 ? 'plain VP8' : `${cur.scale}x`} held, ${target === 1 ? 'plain VP8' : `${target}x`} pending (${wait}): ${why}` }
    }
    this.pending = undefined
    return { ...this.capped(cur, budget, true), reason: why }
  }

  /** Rule 6: the cap for the current scale at this budget; it does not rise while a switch away is pending. */
  private capped (cur: AicDecision, budget: number, mayRise: boolean): AicDecision {
    if (cur.scale === 1) return { scale: 1, reason: cur.reason }
    const step = AIC_CONTROLLER_DEFAULTS.capStep
    const next = Math.round(budget / 1000) * 1000
    const cap = cur.maxBitrateBps ?? next
    if (budget < cap * (1 - step)) {
      this.capRises = 0
      return { ...cur, maxBitrateBps: next }
    }
    if (budget > cap * (1 + step) && mayRise) {
      this.capRises++
      if (this.capRises >= AIC_CONTROLLER_DEFAULTS.holdUpdates) {
        this.capRises = 0
        return { ...cur, maxBitrateBps: next }
      }
      return { ...cur, maxBitrateBps: cap }
    }
    this.capRises = 0
    return { ...cur, maxBitrateBps: cap }
  }
}

/**
 * Makes the AIC mode controller (the rules are in this file's doc comment). Bad init throws a
 * TypeError or RangeError naming the field, e.g. `init.frame.fps must be a number over 0, got 0`.
 *
 * @example
 * ```ts
 * const controller = createAicController({ mode: 'adaptive', table: shippedCrossoverTable(), frame: { width: 640, height: 360, fps: 30 }, scales: [2, 1.5] })
 * const { decision, changed } = controller.update({ atMs: performance.now(), availableBitrateBps: 150_000, lossFraction: 0 })
 * if (changed) await applyToSender(decision) // scaleResolutionDownBy = decision.scale, maxBitrate = decision.maxBitrateBps
 * ```
 */
export function createAicController (init: AicControllerInit): AicController {
  return new Controller(init)
}
