/**
 * @packageDocumentation
 *
 * AIC: AuraLink's on-device neural compression. This first part is the entropy coder the learned
 * image codec will use: rANS over integer CDF tables (16-bit precision), in TypeScript, so that
 * Node, WASM and WebGPU builds decode identical bits. Models and runtimes come next (issue: AIC).
 *
 * @example
 * ```ts
 * import { cdfFromCounts, ransEncode, ransDecode } from '@auralink/aic'
 *
 * const table = cdfFromCounts([10, 5, 1])
 * const bytes = ransEncode([0, 0, 1, 2], 0, [table])
 * const symbols = ransDecode(bytes, 4, 0, [table]) // Uint32Array [0, 0, 1, 2]
 * ```
 */
export * from './errors.js'
export * from './rans.js'
export * from './metrics.js'
