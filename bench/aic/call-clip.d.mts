// Types of call-clip.mjs for the TypeScript tests that use it (e2e/aic-adaptive.e2e.test.ts).
import type * as Stamp from '../../e2e/pages/frame-stamp.js'

export const FPS: number

export interface ClipSegment { name: string, source: { package: string, path: string }, frames: number, input: string[], filter: string }
export function segments (W: number, H: number): ClipSegment[]

export interface PreparedClip {
  y4m: string
  layout: Stamp.StampLayout
  /** Each frame's luma at W x H (BT.601), by frame number. */
  reference: Uint8Array[]
  frames: number
  sha256: string
  segments: Array<{ name: string, package: string, file: string, frames: number, firstFrame: number }>
}
export function prepareClip (W: number, H: number, stamp: typeof Stamp, log?: (message: string) => void, options?: { only?: string[] }): Promise<PreparedClip>
