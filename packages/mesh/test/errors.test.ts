import { DirectoryError } from '@auralink/protocol'
import { describe, expect, it } from 'vitest'
import * as pkg from '../src/index.js'
import { directoryErrorName } from '../src/index.js'
import { expectAuraLinkErrors } from '../../../test-utils/errors.js'

describe('@auralink/mesh errors', () => {
  it('every exported error is an AuraLinkError with a code from AuraLinkErrorCode, one code per class', () => {
    expect(expectAuraLinkErrors(pkg)).toEqual(expect.arrayContaining(['AuraIdNotFoundError', 'DialFailedError', 'DirectoryRejectedError', 'DirectoryTimeoutError', 'PeerOfflineError', 'RelayUnreachableError', 'InvalidStateError']))
  })

  it('directoryErrorName(code) is the DirectoryRejectedError reason of every wire code, and UNKNOWN for a code this version lacks', () => {
    expect(directoryErrorName(DirectoryError.DIRECTORY_ERROR_NAME_TAKEN)).toBe('NAME_TAKEN')
    expect(directoryErrorName(DirectoryError.DIRECTORY_ERROR_QUOTA_EXCEEDED)).toBe('QUOTA_EXCEEDED')
    expect(directoryErrorName(99)).toBe('UNKNOWN')
  })
})
