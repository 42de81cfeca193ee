/**
 * @packageDocumentation
 *
 * AIC: AuraLink's on-device neural compression. This entry (browsers and Node) has the entropy
 * coder (rANS over integer CDF tables, 16-bit precision, in TypeScript, so that Node, WASM and
 * WebGPU builds decode identical bits), the quality metrics (PSNR, SSIM, MS-SSIM), BD-rate, the
 * frame and model-manifest helpers, tool 1's `createEnhancer` and tool 2's `createImageCodec`
 * (the learned image codec): in browsers on onnxruntime-web (WebGPU where a hardware adapter
 * exists, else WASM; the enhancer in a dedicated worker; ImageData, VideoFrame or RGBA frames
 * in), in Node on onnxruntime-node (the "node" export condition).
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
export type { AdaptiveTail, Enhancer, EnhancerInit, EnhancerInfo, EnhanceOptions, Runtime, WeightUpdateResult } from './enhancer.js'
export type { AdaptiveEntry } from './models.js'
export type { EnhancerVariant } from './models.js'
export { parseImageStream, DEFAULT_MAX_SIDE, DEFAULT_MAX_BYTES } from './image-codec.js'
export type { ImageCodec, ImageCodecInit, ImageCodecInfo, CodecCallOptions } from './image-codec.js'
export { parseCodecTables } from './image-codec-tables.js'
export type { CodecTables, IntConvLayer } from './image-codec-tables.js'
export { hyperSynthesis } from './hyper-int.js'
export { imageCodecModels } from './models.js'
export { shippedImageCodecVersion } from './model-files.browser.js'
export type { ImageCodecRole } from './models.js'
export { createEnhancer } from './create-enhancer.browser.js'
export type { BrowserEnhancer, BrowserEnhancerInit, BrowserEnhancerInfo } from './create-enhancer.browser.js'
export { createAdaptiveFitter } from './create-adaptive.browser.js'
export { adaptiveScales } from './adaptive-files.browser.js'
export type { BrowserAdaptiveFitter, BrowserAdaptiveFitterInit } from './create-adaptive.browser.js'
export type { AdaptiveFitter, AdaptiveFitterInfo, AdaptiveFitterInit, AdaptiveUpdate } from './adaptive.js'
export { createImageCodec } from './create-image-codec.browser.js'
export type { BrowserImageCodec, BrowserImageCodecInit, BrowserImageCodecInfo } from './create-image-codec.browser.js'
export { toFrame } from './frame.browser.js'
export type { FrameSource } from './frame.browser.js'
export type { WasmPaths, WebGpuAdapterInfo } from './runtime.web.js'
export { parseCrossoverTable, lookupGain, shippedCrossoverTable } from './crossover.js'
export type { CrossoverTable, CrossoverRow, DeltaStats, GainStats } from './crossover.js'
export { createAicController } from './aic-controller.js'
export { choleskySolve, pixelUnshuffle, TailFitter, tailOutputSize } from './tail-fit.js'
export type { TailFitFrame, TailFitOptions, TailGeometry, TailWeights } from './tail-fit.js'
export { dequantise, FLUSH_BELOW, makeWeightUpdate, quantiseInt8PerChannel, readWeightUpdate, weightChecksum } from './weight-update.js'
export type { AppliedWeights, NamedTensor, WeightUpdateInit, WeightUpdateTarget } from './weight-update.js'
export type { AicController, AicControllerInit, AicDecision, AicFallback, AicFrame, AicMode, AicObservation, AicReceiverReport, AicScale } from './aic-controller.js'
