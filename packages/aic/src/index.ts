/**
 * @packageDocumentation
 *
 * AIC: AuraLink's on-device neural compression. This entry (browsers and Node) has the entropy
 * coder the learned image codec will use (rANS over integer CDF tables, 16-bit precision, in
 * TypeScript, so that Node, WASM and WebGPU builds decode identical bits), the quality metrics
 * (PSNR, SSIM, MS-SSIM), BD-rate, and the frame and model-manifest helpers. In Node the entry
 * also has `createEnhancer` (tool 1 on onnxruntime-node); the browser runtimes are not built yet.
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
export * from './bd-rate.js'
export { checkFrame, frameToTensor, tensorToFrame } from './frame.js'
export type { Frame } from './frame.js'
export { parseManifest, enhancerModel } from './models.js'
export type { ModelEntry, ModelManifest } from './models.js'
export type { Enhancer, EnhancerInit, EnhancerInfo, EnhanceOptions, Runtime } from './enhancer.js'
