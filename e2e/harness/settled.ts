/**
 * After `Promise.allSettled()` of a test's setup or teardown steps (every step runs, so nothing
 * is left behind when one fails): throws the first rejection's reason, if any.
 */
export function throwFirstRejection (results: Array<PromiseSettledResult<unknown>>): void {
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed !== undefined) throw failed.reason
}
