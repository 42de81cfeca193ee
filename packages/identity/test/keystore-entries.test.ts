import { describe, expect, it } from 'vitest'
import { UnsupportedPlatformError } from '../src/errors.js'
import * as browserEntry from '../src/keystore.browser.js'
import * as nodeEntry from '../src/keystore.node.js'

// `@auralink/identity/keystore` resolves to keystore.node under the "node" condition and to
// keystore.browser otherwise (TypeScript's moduleResolution "bundler" in a Node project picks
// the browser file): both must declare the same things, or a project's types depend on the
// resolver. Checked by `npm run typecheck` (this file is in the package's tsconfig).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const sameTypes: Same<typeof nodeEntry, typeof browserEntry> = true
const sameInits: Same<nodeEntry.FileKeyStoreInit, browserEntry.FileKeyStoreInit> & Same<nodeEntry.IdbKeyStoreInit, browserEntry.IdbKeyStoreInit> = true

describe('@auralink/identity/keystore entries', () => {
  it('both entries export the same names', () => {
    expect(sameTypes && sameInits).toBe(true)
    expect(Object.keys(nodeEntry).sort()).toEqual(Object.keys(browserEntry).sort())
  })

  it('idbKeyStore() of the Node entry throws UnsupportedPlatformError naming fileKeyStore', () => {
    expect(() => nodeEntry.idbKeyStore()).toThrow(UnsupportedPlatformError)
    expect(() => nodeEntry.idbKeyStore({ dbName: 'x' })).toThrow(/use fileKeyStore\(\) in Node/)
  })

  it('fileKeyStore() of the browser entry throws UnsupportedPlatformError naming idbKeyStore', () => {
    expect(() => browserEntry.fileKeyStore({ dir: 'keys' })).toThrow(UnsupportedPlatformError)
    expect(() => browserEntry.fileKeyStore({ dir: 'keys' })).toThrow(/use idbKeyStore\(\) in browsers/)
  })
})
