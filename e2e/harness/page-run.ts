// Running a function on a test page's window object from Node: `fn` travels as source (it may use
// only its arguments), and gets `window[name]` (the page module's API: sdkPage, groupPage,
// phonePage...) and `arg`. Whatever it returns must be plain data.

/** What runIn needs of a page: `evaluate(fn, arg)`, which both Playwright's Page and Puppeteer's have. */
export interface PageHandle {
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>
}

/** Runs `fn(window[name], arg)` in `page`. */
export async function runIn<P, T> (page: PageHandle, name: string, fn: (api: P, arg: unknown) => T | Promise<T>, arg?: unknown): Promise<T> {
  const inPage = async ([global, src, a]: readonly [string, string, unknown]): Promise<T> => {
    const f = new Function(`return (${src})`)() as (api: P, arg: unknown) => T
    return f((window as unknown as Record<string, P>)[global]!, a)
  }
  return page.evaluate(inPage, [name, fn.toString(), arg] as const)
}
