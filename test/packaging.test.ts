import { execFile } from 'node:child_process'
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { build as esbuild, type Metafile } from 'esbuild'
import { build as tsup, type Options as TsupOptions } from 'tsup'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import tsupConfig from '../tsup.config'

/*
 * What users get from the published package: the project's own tsup config builds into a temp
 * folder laid out as node_modules/workstream-sync (with the real package.json, so its exports
 * map and "sideEffects": false apply), and esbuild bundles imports of it the way an app's
 * bundler would. Nothing is written into the repo.
 */

const repo = resolve(__dirname, '..')
const runFile = promisify(execFile)
let root: string
let pkg: string

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'workstream-sync-packaging-'))
  pkg = join(root, 'node_modules', 'workstream-sync')
  await mkdir(pkg, { recursive: true })
  await cp(join(repo, 'package.json'), join(pkg, 'package.json'))
  for (const dependency of ['rxjs', 'idb-keyval', 'cross-fetch', 'react']) {
    await symlink(join(repo, 'node_modules', dependency), join(root, 'node_modules', dependency), 'dir')
  }
  const configs = (Array.isArray(tsupConfig) ? tsupConfig : [tsupConfig]) as TsupOptions[]
  for (const config of configs) {
    await tsup({ ...config, outDir: join(pkg, 'dist'), dts: false, sourcemap: false, clean: false, silent: true, config: false })
  }
}, 120_000)

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true })
})

interface Bundle {
  code: string
  /** The modules that put code into the bundle. */
  inputs: string[]
}

/** Bundles `source` as an app in the browser would: tree-shaken and minified, names kept for the checks. */
async function bundleForBrowser(source: string, external: string[] = []): Promise<Bundle> {
  const result = await esbuild({
    stdin: { contents: source, resolveDir: root, loader: 'ts' },
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    minifySyntax: true,
    minifyWhitespace: true,
    metafile: true,
    external,
    logLevel: 'silent',
  })
  // Only the modules that put code into the output: the metafile also lists those shaken away.
  const output = Object.values((result.metafile as Metafile).outputs)[0]!
  const inputs = Object.entries(output.inputs).filter(([, input]) => input.bytesInOutput > 0).map(([path]) => path)
  return { code: result.outputFiles[0]!.text, inputs }
}

/** Top-level names and strings that only the store and its parts (reducer, poller, outbox, cache) hold. */
const STORE_MARKERS = [/\bcreateWorkstreamStore\d*\b/, /\bcreatePoller\d*\b/, /\bOutboxSender\d*\b/, /\bapplySnapshot\d*\b/, /["']snapshotReceived["']/, /["']mutationQueued["']/]
const SERVER_MARKERS = [/\bstartWorkstreamServer\d*\b/, /\bcreateServer\b/, /node:http/, /node:fs/]

function markersIn(code: string, markers: readonly RegExp[]): string[] {
  return markers.filter((marker) => marker.test(code)).map(String)
}

describe('tree-shaking', () => {
  it('bundles only the client when an app imports only createWorkstreamClient', async () => {
    const bundle = await bundleForBrowser(`import { createWorkstreamClient } from 'workstream-sync'\nexport const client = createWorkstreamClient({ baseUrl: 'http://127.0.0.1:1000' })`)
    expect(bundle.code).toMatch(/\bcreateWorkstreamClient\d*\b/)
    expect(markersIn(bundle.code, STORE_MARKERS)).toEqual([])
    expect(markersIn(bundle.code, SERVER_MARKERS)).toEqual([])
    expect(bundle.inputs.filter((input) => /node_modules\/(rxjs|idb-keyval)\//.test(input))).toEqual([])
  })

  it('does pull in the store, rxjs and idb-keyval when an app imports createWorkstreamStore', async () => {
    // The control for the test above: the markers it looks for are really there when used.
    const bundle = await bundleForBrowser(`import { createWorkstreamStore } from 'workstream-sync'\nexport const store = createWorkstreamStore`)
    expect(markersIn(bundle.code, STORE_MARKERS)).toEqual(STORE_MARKERS.map(String))
    expect(bundle.inputs.some((input) => input.includes('node_modules/rxjs/'))).toBe(true)
    expect(bundle.inputs.some((input) => input.includes('node_modules/idb-keyval/'))).toBe(true)
  })

  it('runs nothing at import time: importing the entry for nothing bundles to nothing', async () => {
    const bundle = await bundleForBrowser(`import 'workstream-sync'\nimport 'workstream-sync/react'`, ['react'])
    expect(bundle.code.trim()).toBe('')
  })
})

describe('the Node-only server', () => {
  it('never lands in a browser bundle of the main entry, whatever the app imports from it', async () => {
    const bundle = await bundleForBrowser(`export * from 'workstream-sync'`)
    expect(markersIn(bundle.code, SERVER_MARKERS)).toEqual([])
    expect(bundle.code).not.toMatch(/["']node:/)
    expect(bundle.inputs.filter((input) => input.includes('node-fetch'))).toEqual([])
  })

  it('never lands in a browser bundle of the React entry', async () => {
    const bundle = await bundleForBrowser(`export * from 'workstream-sync/react'`, ['react'])
    expect(markersIn(bundle.code, [...SERVER_MARKERS, ...STORE_MARKERS])).toEqual([])
    expect(bundle.code).not.toMatch(/["']node:/)
  })

  it('is importable in Node from ESM and CommonJS, next to the main and React entries', async () => {
    const script = join(root, 'check.mjs')
    await writeFile(
      script,
      `import { createRequire } from 'node:module'
import { generateSampleEvents, startWorkstreamServer } from 'workstream-sync/server'
import { createWorkstreamClient } from 'workstream-sync'
import { useWorkstreamEvents } from 'workstream-sync/react'
const require = createRequire(import.meta.url)
const cjs = { server: require('workstream-sync/server'), main: require('workstream-sync'), react: require('workstream-sync/react') }
const server = await startWorkstreamServer({ events: generateSampleEvents({ count: 3 }) })
try {
  const snapshot = await createWorkstreamClient({ baseUrl: server.url }).snapshot()
  console.log(JSON.stringify({
    events: snapshot.iterable.length,
    esm: [typeof startWorkstreamServer, typeof useWorkstreamEvents],
    cjs: [typeof cjs.server.startWorkstreamServer, typeof cjs.main.createWorkstreamStore, typeof cjs.react.useWorkstreamEvents],
  }))
} finally {
  await server.close()
}
`,
    )
    const { stdout } = await runFile(process.execPath, [script], { cwd: root, timeout: 20_000 })
    expect(JSON.parse(stdout)).toEqual({ events: 3, esm: ['function', 'function'], cjs: ['function', 'function', 'function'] })
  })
})
