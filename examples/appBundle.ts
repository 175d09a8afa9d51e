import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

/** The demo app, bundled: one script, one style sheet, and the script's source map. */
export interface AppBundle {
  readonly js: Uint8Array
  readonly css: Uint8Array
  readonly map: Uint8Array
}

const ENTRY = fileURLToPath(new URL('./app/main.tsx', import.meta.url))
// Never written: esbuild only needs a directory to name the files it returns.
const OUT_DIR = fileURLToPath(new URL('./.bundle', import.meta.url))

/**
 * Bundles examples/app in memory with esbuild: React, react-dom, RxJS, idb-keyval and the
 * library's own sources included. Takes well under a second, so the demo does it at each start.
 */
export async function bundleApp(): Promise<AppBundle> {
  const result = await build({
    entryPoints: [ENTRY],
    entryNames: 'app',
    outdir: OUT_DIR,
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    jsx: 'automatic',
    minify: true,
    sourcemap: 'linked',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  })
  const file = (name: string): Uint8Array => {
    const output = result.outputFiles.find((candidate) => candidate.path.endsWith(name))
    if (output === undefined) throw new Error(`esbuild produced no ${name} for the demo app.`)
    return output.contents
  }
  return { js: file('app.js'), css: file('app.css'), map: file('app.js.map') }
}
