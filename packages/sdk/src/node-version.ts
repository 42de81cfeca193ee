import { MIN_NODE_MAJOR } from './constants.js'
import { UnsupportedRuntimeError } from './errors.js'

/**
 * Throws when `version` (`process.versions.node`, e.g. '20.11.1') is a Node.js older than
 * MIN_NODE_MAJOR, with a message that says which version is needed and which one runs; an older
 * Node fails later with errors that do not say so (`Promise.withResolvers is not a function`).
 * Does nothing where `version` is undefined (browsers).
 */
export function checkNodeVersion (version: string | undefined): void {
  if (version === undefined) return
  const major = Number.parseInt(version, 10)
  if (Number.isInteger(major) && major < MIN_NODE_MAJOR) {
    throw new UnsupportedRuntimeError(`AuraLink needs Node ${MIN_NODE_MAJOR} or later, this is Node ${version}`)
  }
}
