import { describe, expect, it } from 'vitest'
import * as pkg from '../src/index.js'
import { expectAuraLinkErrors } from '../../test-utils/errors.js'

describe('@auralink/relay-node errors', () => {
  it('every exported error is an AuraLinkError with a code from AuraLinkErrorCode, one code per class', () => {
    expect(expectAuraLinkErrors(pkg)).toEqual(expect.arrayContaining(['ConfigError', 'DataDirError', 'DatastoreDamagedError', 'PortInUseError', 'InvalidStateError']))
  })
})
