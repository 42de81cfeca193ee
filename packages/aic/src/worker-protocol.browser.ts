/**
 * The messages between the browser enhancer (main thread) and its dedicated worker
 * (enhancer-worker.browser.ts). Frames travel as RGBA bytes whose buffers are transferred,
 * never copied, in both directions.
 */
import { AuraLinkError } from '@auralink/core'
import { InvalidStateError, ModelLoadError, ModelNotFoundError, RuntimeUnavailableError } from './errors.js'
import type { AdaptiveFitterInit, AdaptiveUpdate } from './adaptive.js'
import type { AdaptiveTail, WeightUpdateResult } from './enhancer.js'
import type { AuraLinkErrorCode } from '@auralink/core'
import type { WasmPaths, WebExecutionProvider } from './runtime.web.js'

export interface OpenRequest {
  type: 'open'
  id: number
  /** The model's bytes (the buffer is transferred). */
  model: Uint8Array
  executionProvider: WebExecutionProvider
  threads?: number
  wasmPaths?: WasmPaths
  input: string
  output: string
  file: string
  scale: number
  /** An adaptive export's tail inputs (the model's other inputs) and its shipped tail. */
  extraInputs?: string[]
  adaptive?: AdaptiveTail
  /** What the worker holds: an enhancer (the default), or the sender's adaptive fitter (needs `adaptive`). */
  role?: 'enhance' | 'fit'
  fit?: Pick<AdaptiveFitterInit, 'samplesPerFrame' | 'lambda'>
}

export interface EnhanceRequest {
  type: 'enhance'
  id: number
  width: number
  height: number
  /** RGBA bytes (the buffer is transferred). */
  data: Uint8Array
}

/** An adaptive enhancer's WeightUpdate (the bytes are copied: they are small). */
export interface UpdateRequest {
  type: 'update'
  id: number
  bytes: Uint8Array
}

/** A fitter's frame pair, RGBA (both buffers transferred). */
export interface FitAddRequest {
  type: 'fit-add'
  id: number
  low: { width: number, height: number, data: Uint8Array }
  original: { width: number, height: number, data: Uint8Array }
}

export interface FitUpdateRequest {
  type: 'fit-update'
  id: number
}

export interface CloseRequest {
  type: 'close'
  id: number
}

export type WorkerRequest = OpenRequest | EnhanceRequest | UpdateRequest | FitAddRequest | FitUpdateRequest | CloseRequest

export interface OpenResult { executionProvider: WebExecutionProvider, threads: number }
export interface EnhanceResult { width: number, height: number, data: Uint8ClampedArray }

/**
 * An error as it crosses postMessage: structured cloning keeps neither the class nor `file`, so
 * an AuraLink error travels as its `code` (and `file`), any other as its `name`.
 */
export interface WireError { code?: AuraLinkErrorCode, name: string, message: string, file?: string }

export type FitAddResult = { frames: number, ms: number }
export type WorkerValue = OpenResult | EnhanceResult | WeightUpdateResult | FitAddResult | AdaptiveUpdate | null

export type WorkerReply =
  | { id: number, ok: true, value: WorkerValue }
  | { id: number, ok: false, error: WireError }

export function toWire (err: unknown): WireError {
  if (err instanceof AuraLinkError) {
    const file = (err as { file?: unknown }).file
    return { code: err.code, name: err.name, message: err.message, ...(typeof file === 'string' ? { file } : {}) }
  }
  if (err instanceof Error) return { name: err.name, message: err.message }
  return { name: 'Error', message: String(err) }
}

/** The error again, as the class it was thrown as (those of errors.ts by their code, TypeError, RangeError). */
export function fromWire (wire: WireError): Error {
  let err: Error
  switch (wire.code) {
    case ModelLoadError.code: err = new ModelLoadError(wire.file ?? '', ''); break
    case ModelNotFoundError.code: err = new ModelNotFoundError(wire.file ?? ''); break
    case RuntimeUnavailableError.code: err = new RuntimeUnavailableError(''); break
    case InvalidStateError.code: err = new InvalidStateError(''); break
    default:
      if (wire.name === 'TypeError') err = new TypeError('')
      else if (wire.name === 'RangeError') err = new RangeError('')
      else { err = new Error(''); err.name = wire.name }
  }
  err.message = wire.message
  return err
}
