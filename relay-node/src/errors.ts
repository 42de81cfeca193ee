// The errors this package throws, defined once in @auralink/core and re-exported here.
export {
  ConfigError, DatastoreDamagedError, DataDirError, ExpiredRelayAdvertError, InvalidRelayAdvertError, InvalidStateError,
  MessageTooLargeError, PortInUseError
} from '@auralink/core'
