/**
 * @packageDocumentation
 *
 * AIC in Node: everything of the browser entry, plus tool 1's enhancer and tool 2's learned
 * image codec (`createImageCodec`) on onnxruntime-node (an optional peer dependency) with the
 * models this package ships.
 *
 * @example
 * ```ts
 * import { createEnhancer } from '@auralink/aic'
 *
 * const enhancer = await createEnhancer({ runtime: 'node', scale: 2 })
 * const restored = await enhancer.enhance({ width: 320, height: 180, data: rgba }) // 640x360 RGBA
 * console.log(enhancer.info.executionProvider) // 'cpu'
 * await enhancer.close()
 * ```
 */
export * from './index.js'
export { createEnhancer, createAdaptiveFitter } from './create-enhancer.node.js'
export { createImageCodec } from './create-image-codec.node.js'
export { readManifest, MODELS_DIR } from './model-files.node.js'
// the AIC mode controller and its crossover table (also in './index.js'; named here so this entry lists them)
export { parseCrossoverTable, lookupGain, shippedCrossoverTable } from './crossover.js'
export type { CrossoverTable, CrossoverRow, DeltaStats, GainStats } from './crossover.js'
export { createAicController } from './aic-controller.js'
export type { AicController, AicControllerInit, AicDecision, AicFallback, AicFrame, AicMode, AicObservation, AicReceiverReport, AicScale } from './aic-controller.js'
