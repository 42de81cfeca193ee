// Small DOM helpers: typed element lookup by id, and the one place errors are shown.

/** The element with `id`, checked to be of `type` (a missing element is a bug in index.html). */
export function byId<T extends HTMLElement> (id: string, type: new () => T): T {
  const el = document.getElementById(id)
  if (!(el instanceof type)) throw new Error(`index.html has no <${type.name}> with id "${id}"`)
  return el
}

/** `err` as the UI shows it: "AuraIdNotFoundError: @x.aura is not registered". */
export function describeError (err: unknown): string {
  if (err instanceof Error || (typeof err === 'object' && err !== null && 'message' in err)) {
    const e = err as Error
    return `${e.name !== '' ? e.name : 'Error'}: ${e.message}`
  }
  return `Error: ${String(err)}`
}

const errorBox = byId('error', HTMLDivElement)

/** Shows an error (name and message) at the top of the page until the next action clears it. */
export function showError (err: unknown, context?: string): void {
  errorBox.textContent = (context !== undefined ? `${context}: ` : '') + describeError(err)
  errorBox.hidden = false
}

export function clearError (): void {
  errorBox.hidden = true
  errorBox.textContent = ''
}

/** Runs an action of a button or form; whatever it throws is shown, never lost. */
export function action (fn: () => Promise<void> | void, context?: string): () => void {
  return () => {
    clearError()
    Promise.resolve().then(fn).catch((err: unknown) => { showError(err, context) })
  }
}

/** Binds a form's submit (button click or Enter) to `fn`, without a page load. */
export function onSubmit (form: HTMLFormElement, fn: () => Promise<void> | void, context?: string): void {
  const run = action(fn, context)
  form.addEventListener('submit', (e) => { e.preventDefault(); run() })
}

/** Formats bits per second as kbit/s. */
export function kbps (bitsPerSecond: number): string {
  return `${(bitsPerSecond / 1000).toFixed(bitsPerSecond < 100_000 ? 1 : 0)} kbit/s`
}

/** Formats a byte count (B, KiB, MiB). */
export function bytes (n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}
