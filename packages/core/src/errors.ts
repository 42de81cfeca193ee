// The one set of AuraLink errors. Every package throws these classes (each defined once, here)
// and @auralink/sdk re-exports the ones an SDK call can throw. Match with `instanceof`; `code`
// is for logs and for errors that crossed a wire (see README.md, "Errors").
export { AURALINK_ERROR_CODES, AuraLinkError, InvalidStateError } from './errors/base.js'
export type { AuraLinkErrorCode } from './errors/base.js'
export * from './errors/wire.js'
export * from './errors/identity.js'
export * from './errors/directory.js'
export * from './errors/mesh.js'
export * from './errors/call.js'
export * from './errors/aic.js'
export * from './errors/relay.js'
