import { WorkstreamSyncError } from '../errors'
import type {
  Application,
  EmbeddedModelSchema,
  FlattenedCollection,
  GroupedTimestamp,
  Referenced,
  SeededWorkstreamEvent,
  WorkstreamEvent,
  WorkstreamEventContext,
  WorkstreamEventTrigger,
} from '../models'

/*
 * Realistic, deterministic workstream events for the embedded server, the demo, the tests and
 * the benchmarks (DESIGN §6 sizes its figures on about 3.6 kB per event). It runs in browsers
 * too, so it imports nothing from Node. The text deliberately carries accents, CJK, emoji,
 * escaped quotes, backslashes and braces, which any code slicing raw JSON bodies must survive.
 */

/** Options of {@link generateSampleEvents}. Only `count` is required. */
export interface SampleEventsOptions {
  /** How many events to make: an integer, 0 or more (no default). */
  count: number
  /** Default 1: the same seed always gives the same events. */
  seed?: number
  /** The newest event is created shortly before this (ms since the epoch). Default 2025-06-02T14:30:00.000Z. */
  now?: number
}

const DEFAULT_SEED = 1
const DEFAULT_NOW = Date.UTC(2025, 5, 2, 14, 30, 0)
const VECTOR_LENGTH = 48

type Kind = 'ide' | 'browser' | 'ocr' | 'accessibility'
interface AppProfile { name: string; title: string; version: string; platform: string; kind: Kind }
interface Entity { id: string; created: number }

const APPS: readonly AppProfile[] = [
  { name: 'VS_CODE', title: 'Visual Studio Code', version: '1.90.2', platform: 'MACOS', kind: 'ide' },
  { name: 'JETBRAINS', title: 'Rider', version: '2024.1.3', platform: 'WINDOWS', kind: 'ide' },
  { name: 'GOOGLE_CHROME_EXTENSION_MV3', title: 'Google Chrome', version: '3.1.0', platform: 'MACOS', kind: 'browser' },
  { name: 'MICROSOFT_EDGE', title: 'Microsoft Edge', version: '125.0.2535.92', platform: 'WINDOWS', kind: 'browser' },
  { name: 'SLACK', title: 'Slack', version: '4.38.125', platform: 'MACOS', kind: 'ocr' },
  { name: 'NOTION', title: 'Notion', version: '3.9.1', platform: 'MACOS', kind: 'ocr' },
  { name: 'MICROSOFT_TEAMS', title: 'Microsoft Teams', version: '24124.2315.2911.3357', platform: 'WINDOWS', kind: 'accessibility' },
  { name: 'OBSIDIAN', title: 'Obsidian', version: '1.6.3', platform: 'LINUX', kind: 'accessibility' },
]

// Every entry below holds quotes, escaped quotes, backslashes, braces, accents, CJK and emoji,
// so that every event carries them whatever its kind. String.raw keeps each backslash as written.
const FILES: readonly { path: string; project: string; ext: string; code: string }[] = [
  { path: '/Users/ana/code/workstream-sync/src/store.ts', project: 'workstream-sync', ext: 'ts', code: String.raw`export function rebase(snapshot: Snapshot, pending: readonly Mutation[]): View {
  const view = new Map(snapshot.byId)
  for (const m of pending) {
    if (m.kind === "create") view.set(m.event.id, m.event)
    else view.delete(m.eventId) // a poll never brings back an optimistic delete
  }
  return { events: [...view.values()].sort(byCreatedDesc), label: "Aperçu — 概要 📋 \"rebased\"", separator: "\\" }
}
` },
  { path: '/Users/ana/code/workstream-sync/src/outbox.ts', project: 'workstream-sync', ext: 'ts', code: String.raw`const body = JSON.stringify({ internal_identifier: id, readable: "He said \"ship it\" {soon} — très bien 👍 了解" })
const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** attempt) * (0.5 + random() / 2)
const cacheDir = "C:\\Users\\ana\\AppData\\Local\\workstream-sync"
if (error.retryable) { schedule(delay) } else { rollBack(mutation); errors.next(error) }
` },
  { path: '/home/kenji/projects/api-gateway/handlers/auth.py', project: 'api-gateway', ext: 'py', code: String.raw`TOKEN = re.compile(r"^Bearer\s+([\w\-\.]+)$")

def authorize(headers: dict[str, str]) -> dict:
    """Vérifie le jeton — トークンを確認します 🔐"""
    match = TOKEN.match(headers.get("Authorization", ""))
    return {"ok": bool(match), "hint": "send \"Bearer <token>\"", "log": "C:\\temp\\audit.log"}
` },
  { path: 'C:\\Users\\dev\\source\\repos\\Billing\\Invoice.cs', project: 'Billing', ext: 'cs', code: String.raw`public string Describe() => $"Invoice {{ Number = \"{Number}\", Total = {Total:C} }}";
var root = @"C:\Users\dev\source\repos\Billing";
if (lines.Count == 0) { throw new InvalidOperationException("Keine Positionen für 請求書 🧾"); }
` },
  { path: '/Users/ana/code/workstream-sync/README.md', project: 'workstream-sync', ext: 'md', code: String.raw`## Offline first

createWorkstreamStore({ pollIntervalMs: 5000 }) keeps a cached copy. Tip: in JSON, escape a backslash as \\ and a quote as \" ("C:\\data").
🚀 Déjà vu: 同期は楽しい。
` },
  { path: '/home/kenji/projects/api-gateway/config/settings.json', project: 'api-gateway', ext: 'json', code: String.raw`{
  "routes": { "/v1/*": { "upstream": "http://127.0.0.1:8080", "timeoutMs": 30000 } },
  "banner": "Welcome \"{user}\" — ようこそ, señor 👋",
  "logDir": "C:\\logs\\gateway"
}
` },
]

const PAGES: readonly { url: string; name: string; text: string }[] = [
  { url: 'https://stackoverflow.com/questions/19176024/how-to-escape-special-characters-in-building-a-json-string', name: 'How to escape special characters in building a JSON string? - Stack Overflow', text: String.raw`Inside a JSON string escape the quote as \" and the backslash as \\, e.g. "C:\\Users\\José" and "{\"city\": \"東京\"}". Braces { } need no escaping, and neither does 🙂.` },
  { url: 'https://developer.mozilla.org/en-US/docs/Web/JavaScript/Reference/Global_Objects/JSON/stringify', name: 'JSON.stringify() - JavaScript | MDN', text: String.raw`JSON.stringify({ name: "Zoë", fox: "🦊", city: "札幌" }) returns the string "{\"name\":\"Zoë\",\"fox\":\"🦊\",\"city\":\"札幌\"}"; a path such as "C:\\tmp" keeps its escaped backslash.` },
  { url: 'https://ja.wikipedia.org/wiki/%E6%9D%B1%E4%BA%AC%E9%83%BD', name: '東京都 - Wikipedia', text: String.raw`東京都（とうきょうと）は、日本の首都である 🗼。{{Infobox 都道府県 | 名前 = "Tōkyō-to" | 注記 = "\"首都\"" | 地図 = Tokyo\Map.svg}}` },
  { url: 'https://github.com/pieces-app/pieces-os-client-sdk-for-typescript', name: 'pieces-app/pieces-os-client-sdk-for-typescript: The TypeScript SDK for Pieces OS', text: String.raw`npm install @pieces.app/pieces-os-client, then call workstreamEventsSnapshot({ transferables: false }). On Windows Pieces OS lives in "C:\Program Files\Pieces"; set "name": "\"my app\"". Déjà installé? 🚀 日本語のドキュメントもあります。` },
  { url: 'https://rxjs.dev/api/operators/distinctUntilChanged', name: 'distinctUntilChanged · RxJS', text: String.raw`distinctUntilChanged((a, b) => a.id === b.id) emits { id: "1" } once and skips the repeated "\"1\"" values. Paths like "src\\operators" are examples only — voilà ✨ 重複を除外します。` },
  { url: 'https://www.google.com/search?q=rxjs+%22shareReplay%22+refCount', name: 'rxjs "shareReplay" refCount - Google Search', text: String.raw`shareReplay({ bufferSize: 1, refCount: true }) keeps a "hot" cache and unsubscribes at zero; notes in "C:\\dev\\rxjs.md" say "\"refCount\" matters". Résultats · 検索 🔍` },
]

const CHATS: readonly string[] = [
  String.raw`Zoë Martín: the deploy is green ✅ can you review #482? the flaky test logged {"status": "retry \"503\""} in C:\ci\logs
Kenji: 了解 👀`,
  String.raw`Kenji Sato: 了解です。明日リリースします 🚀
Ana: great, I'll tag v0.4.0, changelog in {docs}\CHANGELOG.md titled "Café \"release\""
Kenji Sato: 👍`,
  String.raw`Priya: anyone know why jq '.iterable[] | {id}' drops the escaped \" quotes?
León: it doesn't, your shell ate them; try jq -r (日本語もOK)
Priya: ah right, C:\tools\jq.exe on Windows 🤦`,
  String.raw`Sprint notes — Q3 planning 📝
• Offline outbox: done ✔ • Quota errors → memory fallback: in review
• Ünïcödé file names like "C:\Users\Søren\{draft}.md" and "\"quoted\"" titles: todo (東京チーム)`,
]

const TAGS: readonly string[] = ['rxjs', 'indexeddb', 'offline-first', 'code-review', 'python', 'c#', 'release', 'json', 'débogage', '東京', 'deploy 🚀', 'api-gateway']
const READABLE: Readonly<Record<Kind, readonly string[]>> = {
  ide: ['Edited {file} in {project}: kept optimistic creates when a stale snapshot lands.', 'Copied a snippet from {file} while fixing the retry backoff ({project}).'],
  browser: ['Read "{page}" while researching {tag}.', 'Compared answers on "{page}" — the fix needs a {tag} change.'],
  ocr: ['Discussed the release of {project} in {app}; decided to ship on Thursday.', 'Caught up on #release-train in {app}: {tag} is the blocker.'],
  accessibility: ['Reviewed notes about {tag} in {app} — résumé: keep the cache per server and app.', 'Planned the next sprint in {app} with the {project} team.'],
}

/** mulberry32: a small, fast 32-bit PRNG; good enough for sample data, not for secrets. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** `count` events, newest `created` first, each valid and about 3.6 kB of JSON on average. */
export function generateSampleEvents(options: SampleEventsOptions): WorkstreamEvent[] {
  const { count } = options
  if (!Number.isInteger(count) || count < 0) {
    throw new WorkstreamSyncError('invalid-input', `count must be a non-negative integer, got ${String(count)}.`)
  }
  const random = seededRandom(options.seed ?? DEFAULT_SEED)
  const now = options.now ?? DEFAULT_NOW
  const apps = APPS.map((): Entity => ({ id: uuid(random), created: now - 90 * 86_400_000 }))
  const tags = TAGS.map((): Entity => ({ id: uuid(random), created: now - Math.floor(random() * 30 * 86_400_000) }))
  const pages = PAGES.map((): Entity => ({ id: uuid(random), created: now - Math.floor(random() * 30 * 86_400_000) }))
  const windows = APPS.map((): Entity => ({ id: uuid(random), created: now - Math.floor(random() * 60 * 86_400_000) }))
  const events: WorkstreamEvent[] = []
  let created = now - Math.floor(random() * 60_000)
  for (let index = 0; index < count; index++) {
    const appIndex = Math.floor(random() * APPS.length)
    const app = APPS[appIndex] as AppProfile
    const body = sampleBody(random, index, app, (apps[appIndex] as Entity).id, now, tags, pages)
    const window = windows[appIndex] as Entity
    const updated = Math.min(now, created + Math.floor(random() * 30_000))
    const event: WorkstreamEvent = {
      schema: schema(),
      id: uuid(random),
      score: body.score,
      application: body.application,
      created: timestamp(created, now),
      updated: timestamp(updated, now),
      trigger: body.trigger,
      context: body.context,
      readable: body.readable,
      windowTitle: body.windowTitle,
      ...(body.browserUrl === undefined ? {} : { browserUrl: body.browserUrl }),
      processing: 'LOCAL',
      tags: body.tags,
      ...(body.websites === undefined ? {} : { websites: body.websites }),
      source_windows: collection([{ id: window.id, reference: { id: window.id, name: body.windowTitle, created: timestamp(window.created, now), updated: timestamp(created, now) } }]),
      ...(random() < 0.5 ? { summaries: collection([{ id: uuid(random) }]) } : {}),
      workstreamEventsVector: vector(random),
    }
    events.push(event)
    created -= 5_000 + Math.floor(random() * 240_000)
  }
  return events
}

/** A valid seed, as an app would send to `POST /workstream_events/create`. `index` (default 0) picks the sample content. */
export function generateSampleSeed(random: () => number, index = 0): SeededWorkstreamEvent {
  const app = APPS[Math.floor(random() * APPS.length)] as AppProfile
  const now = DEFAULT_NOW
  const tags = TAGS.map((): Entity => ({ id: uuid(random), created: now - 86_400_000 }))
  const pages = PAGES.map((): Entity => ({ id: uuid(random), created: now - 86_400_000 }))
  const body = sampleBody(random, index, app, uuid(random), now, tags, pages)
  return {
    schema: schema(),
    application: body.application,
    trigger: body.trigger,
    context: body.context,
    readable: body.readable,
    tags: body.tags,
    ...(body.websites === undefined ? {} : { websites: body.websites }),
    workstreamEventsVector: vector(random),
  }
}

function sampleBody(random: () => number, index: number, app: AppProfile, appId: string, now: number, tags: readonly Entity[], pages: readonly Entity[]) {
  // The content rotates with the index, so that neighbouring events differ.
  const file = FILES[index % FILES.length] as (typeof FILES)[number]
  const pageIndex = index % PAGES.length
  const page = PAGES[pageIndex] as (typeof PAGES)[number]
  const chat = CHATS[index % CHATS.length] as string
  const basename = file.path.split(/[\\/]/).pop() as string
  const application: Application = {
    schema: schema(), id: appId, name: app.name, version: app.version, platform: app.platform,
    onboarded: true, privacy: 'OPEN', capabilities: 'BLENDED', mechanism: 'AUTOMATIC', automaticUnload: false,
  }
  let context: WorkstreamEventContext
  let trigger: WorkstreamEventTrigger
  let windowTitle: string
  let browserUrl: string | undefined
  if (app.kind === 'ide') {
    windowTitle = app.name === 'VS_CODE' ? `${basename} — ${file.project}` : `${file.project} – ${basename}`
    trigger = pick(random, [{ file_open: true }, { copy: true }, { paste: true }, { tab_switch: true }, { file_close: true, application_switch: true }])
    const root = file.path.slice(0, file.path.length - basename.length - 1)
    context = { ide: {
      name: file.project,
      tabs: { iterable: [
        { value: { raw: file.code }, classification: { generic: 'CODE', specific: file.ext }, anchor: { type: 'FILE', fullpath: file.path, name: basename, platform: app.platform }, current: true },
        { anchor: { type: 'FILE', fullpath: (FILES[(index + 1) % FILES.length] as (typeof FILES)[number]).path, platform: app.platform }, current: false },
      ] },
      modules: { iterable: [{ anchor: { type: 'DIRECTORY', fullpath: root, name: file.project } }] },
    } }
  } else if (app.kind === 'browser') {
    windowTitle = `${page.name} - ${app.title}`
    browserUrl = page.url
    trigger = pick(random, [{ url_changed: true }, { tab_switch: true }, { tab_open: true }, { tab_enter: true }, { copy: true }])
    context = { browser: { tabs: { iterable: [
      { website: { url: page.url, name: page.name }, current: true, values: { iterable: [{ text: { raw: page.text } }] } },
      { website: { url: (PAGES[(pageIndex + 1) % PAGES.length] as (typeof PAGES)[number]).url, name: 'New Tab' }, current: false },
    ] } } }
  } else {
    windowTitle = app.kind === 'ocr' ? `${app.title} — #release-train` : `${app.title} | Chat | Release crew`
    trigger = pick(random, [{ application_enter: true }, { native_screenshot: true }, { check_in: true }, { application_switch: true }, { paste: true }])
    const screen = { appTitle: app.title, windowTitle, isMerged: random() < 0.2, isCached: random() < 0.3 }
    context = app.kind === 'ocr'
      ? { native_ocr: { ocrText: chat, ocrTextHash: hex(random, 16), ...screen } }
      : { accessibility: { accessibilityText: chat, ...screen } }
  }
  const tagPicks = [0, 1, 2].map(() => Math.floor(random() * TAGS.length)).filter((t, i, all) => all.indexOf(t) === i)
  const readable = pick(random, READABLE[app.kind])
    .replace('{file}', basename).replace('{project}', file.project).replace('{page}', page.name)
    .replace('{tag}', TAGS[tagPicks[0] as number] as string).replace('{app}', app.title)
  const tagRefs = tagPicks.map((t) => {
    const tag = tags[t] as Entity
    return { id: tag.id, reference: { id: tag.id, text: TAGS[t] as string, created: timestamp(tag.created, now), updated: timestamp(tag.created, now), category: 'UNKNOWN', interactions: Math.floor(random() * 40), mechanisms: { [appId]: 'AUTOMATIC' } } }
  })
  const pageEntity = pages[pageIndex] as Entity
  const websites = app.kind === 'browser'
    ? collection([{ id: pageEntity.id, reference: { id: pageEntity.id, name: page.name, url: page.url, created: timestamp(pageEntity.created, now), updated: timestamp(pageEntity.created, now), interactions: Math.floor(random() * 12) } }])
    : undefined
  const score = { manual: 0, automatic: Math.floor(random() * 20), priority: Math.floor(random() * 3), reuse: 0, update: Math.floor(random() * 5), reference: Math.floor(random() * 8), searched: 0 }
  return { application, trigger, context, windowTitle, browserUrl, readable, tags: collection(tagRefs), websites, score }
}

/** A new object each time: events share no objects, so that mutating one never changes another. */
function schema(): EmbeddedModelSchema {
  return { migration: 0, semantic: 'MAJOR_0_MINOR_0_PATCH_1' }
}

function collection<Item extends Referenced<{ id: string }>>(iterable: Item[]): FlattenedCollection<Item> {
  const indices: Record<string, number> = {}
  iterable.forEach((item, i) => { indices[item.id] = i })
  return { iterable, indices }
}

function timestamp(ms: number, now: number): GroupedTimestamp {
  const minutes = Math.floor((now - ms) / 60_000)
  const readable = minutes < 1 ? 'Just now' : minutes < 60 ? `${minutes} minute${minutes === 1 ? '' : 's'} ago`
    : minutes < 1440 ? `${Math.floor(minutes / 60)} hour${minutes < 120 ? '' : 's'} ago` : `${Math.floor(minutes / 1440)} day${minutes < 2880 ? '' : 's'} ago`
  return { value: new Date(ms).toISOString(), readable }
}

function vector(random: () => number): number[] {
  return Array.from({ length: VECTOR_LENGTH }, () => Math.round((random() * 2 - 1) * 1e6) / 1e6)
}

/** A version 4 UUID made from the PRNG, so that ids are unique yet repeatable. */
function uuid(random: () => number): string {
  const h = hex(random, 32)
  const variant = '89ab'[Math.floor(random() * 4)] as string
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`
}

function hex(random: () => number, length: number): string {
  let out = ''
  for (let i = 0; i < length; i++) out += Math.floor(random() * 16).toString(16)
  return out
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T
}
