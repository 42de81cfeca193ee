/** Protocol id of the AuraID directory (register, update, resolve, search, unregister). */
export const DIRECTORY_PROTOCOL = '/auralink/directory/1.0.0'

/** Records over this size are refused everywhere (DESIGN.md: 10 KiB). */
export const MAX_RECORD_BYTES = 10 * 1024

/** A directory request carries at most one record or unregister proof plus small fields. */
export const MAX_DIRECTORY_REQUEST_BYTES = MAX_RECORD_BYTES + 1024

/** The most records one SEARCH answer may hold. */
export const MAX_SEARCH_RESULTS = 50

/** A response carries at most MAX_SEARCH_RESULTS records. */
export const MAX_DIRECTORY_RESPONSE_BYTES = MAX_SEARCH_RESULTS * (MAX_RECORD_BYTES + 16) + 1024

/** Signature domains: a signature made for one purpose never verifies for another. */
export const RECORD_SIGNATURE_DOMAIN = 'auralink-auraid-record:'
/** The signature domain of an unregister proof (see RECORD_SIGNATURE_DOMAIN). */
export const UNREGISTER_SIGNATURE_DOMAIN = 'auralink-auraid-unregister:'
