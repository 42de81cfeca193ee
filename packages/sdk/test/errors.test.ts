import { describe, expect, it } from 'vitest'
import * as sdk from '../src/index.js'
import { expectAuraLinkErrors } from '../../../test-utils/errors.js'

describe('@auralink/sdk errors', () => {
  it('every exported error is an AuraLinkError with a code from AuraLinkErrorCode, one code per class', () => {
    expectAuraLinkErrors(sdk)
  })

  it('exports AuraLinkError and every error an SDK call can throw (the README\'s "Errors" table)', () => {
    expect(typeof sdk.AuraLinkError).toBe('function')
    expect(expectAuraLinkErrors(sdk).sort()).toEqual([
      // the client and its calls
      'CallEndedError', 'FileTooLargeError', 'FileTransferError', 'InvalidStateError', 'MediaAccessDeniedError',
      'ImageFailedError', 'MediaUnsupportedError', 'PhoneCallFailedError', 'RecordingFailedError', 'RecordingRefusedError', 'TransferAbortedError', 'UnsupportedRuntimeError',
      // names, records and the key store
      'CorruptKeyError', 'InvalidAuraIdError', 'KeyInUseError', 'UnsupportedPlatformError', 'InvalidRecordError', 'InvalidSignatureError', 'MalformedRecordError',
      'RecordExpiredError', 'RecordTooLargeError',
      // the directory, relays and dials
      'AuraIdNotFoundError', 'DialFailedError', 'DirectoryRejectedError', 'DirectoryTimeoutError', 'PeerIdMismatchError',
      'PeerOfflineError', 'RelayUnreachableError', 'ReputationLoadError', 'ReputationSaveError', 'WrongRelayIdError'
    ].sort())
  })

  it('its classes are the very ones the other packages throw (instanceof holds across packages)', async () => {
    const mesh = await import('@auralink/mesh')
    const identity = await import('@auralink/identity')
    expect(sdk.DirectoryRejectedError).toBe(mesh.DirectoryRejectedError)
    expect(sdk.InvalidStateError).toBe(mesh.InvalidStateError)
    expect(sdk.InvalidStateError).toBe(identity.InvalidStateError)
    expect(sdk.InvalidAuraIdError).toBe(identity.InvalidAuraIdError)
    expect(() => identity.validateAuraId('@A!.aura')).toThrow(sdk.InvalidAuraIdError)
  })
})
