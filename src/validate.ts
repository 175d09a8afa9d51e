import { WorkstreamSyncError } from './errors'
import type { SeededWorkstreamEvent, WorkstreamEvent, WorkstreamEvents } from './models'

/*
 * Hand-written guards for the wire models, on the hot path of every poll (DESIGN §6: 0.17x
 * JSON.parse, where valibot cost 0.57x). They walk what JSON.parse produced without copying
 * it, read only the known keys, and allocate nothing unless they fail: a failure carries a
 * path relative to the model that found it, and each enclosing model prepends its own key.
 *
 * Rules: required keys must hold the right type; an optional key that is absent or `null` is
 * fine (generated servers write `null` for unset optionals), otherwise it must hold the right
 * type; unknown keys are allowed, for newer servers, and never read; enumerations accept any
 * string. `Flattened*` collections are checked down to their references' ids; reference
 * bodies of large graphs (summaries, messages, persons...) only down to their own `id`.
 */

interface Failure {
  path: string
  problem: string
}

type Check = (value: unknown) => Failure | undefined
type JsonObject = Record<string, unknown>

const AN_OBJECT = 'an object'
const AN_ARRAY = 'an array'
const A_STRING = 'a string'
const A_NUMBER = 'a number'
const A_BOOLEAN = 'a boolean'
const AN_ISO_DATE = 'an ISO date string'
const ISO_DATE_TIME_PREFIX = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/
/** The official model's names of the trigger flags, which a seed in wire form never has. */
const OFFICIAL_TRIGGER_PROPERTIES = [
  'checkIn', 'fileOpen', 'fileClose', 'tabSwitch', 'tabClose', 'tabOpen', 'tabEnter', 'tabLeave',
  'urlChanged', 'applicationEnter', 'applicationLeave', 'applicationSwitch', 'nativeScreenshot',
] as const

/** Returns undefined when valid, else a message naming the path and the problem. `path` prefixes the message. */
export function checkWorkstreamEvent(value: unknown, path = ''): string | undefined {
  const failure = checkEvent(value)
  return failure && message(path, failure)
}

export function checkSeededWorkstreamEvent(value: unknown, path = ''): string | undefined {
  const failure = checkSeed(value)
  return failure && message(path, failure)
}

/** Checks the envelope only (an object with an `iterable` array and well-typed extras), not the items. */
export function checkWorkstreamEventsEnvelope(value: unknown): string | undefined {
  const failure = checkEnvelope(value)
  return failure && message('', failure)
}

/** Checks the envelope and every item; throws a `validation` error naming the path of the first problem. */
export function parseWorkstreamEvents(value: unknown): WorkstreamEvents {
  const envelope = checkEnvelope(value)
  if (envelope) throw serverDataError('WorkstreamEvents', '', envelope)
  const iterable = (value as { iterable: unknown[] }).iterable
  for (let i = 0; i < iterable.length; i++) {
    const item = iterable[i]
    const failure = checkEvent(item)
    if (failure) throw serverDataError('WorkstreamEvents', '', at('iterable', atIndex(i, failure)), idOf(item))
  }
  return value as WorkstreamEvents
}

/** Checks one event from the server; throws a `validation` error naming the path of the problem. */
export function parseWorkstreamEvent(value: unknown, path = ''): WorkstreamEvent {
  const failure = checkEvent(value)
  if (failure) throw serverDataError('WorkstreamEvent', path, failure, idOf(value))
  return value as WorkstreamEvent
}

/** Checks a caller's seed; throws an `invalid-input` error naming the path of the problem. */
export function parseSeededWorkstreamEvent(value: unknown): SeededWorkstreamEvent {
  const failure = checkSeed(value) ?? officialModelKeys(value as JsonObject)
  if (failure) {
    throw new WorkstreamSyncError(
      'invalid-input',
      `Invalid SeededWorkstreamEvent: ${message('', failure)}. Pass the wire form (snake_case keys such as internal_identifier and check_in); convert official model objects with SeededWorkstreamEventToJSON.`,
      { path: failure.path },
    )
  }
  return value as SeededWorkstreamEvent
}

/** True for a non-empty string. */
export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0
}

function serverDataError(model: string, prefix: string, failure: Failure, eventId?: string): WorkstreamSyncError {
  const path = join(prefix, failure.path)
  return new WorkstreamSyncError(
    'validation',
    `The server sent an invalid ${model}: ${message(prefix, failure)}. Check that baseUrl points at Pieces OS (or a compatible server) whose models match @pieces.app/pieces-os-client 4.x.`,
    { path, ...(eventId === undefined ? {} : { eventId }) },
  )
}

function idOf(value: unknown): string | undefined {
  return isObject(value) && isValidId(value.id) ? value.id : undefined
}

// Object.hasOwn keeps a polluted Object.prototype from making these look present.
function officialModelKeys(seed: JsonObject): Failure | undefined {
  if (Object.hasOwn(seed, 'internalIdentifier')) return { path: 'internalIdentifier', problem: 'is the official model property; the wire key is internal_identifier' }
  const trigger = seed.trigger as JsonObject
  for (const key of OFFICIAL_TRIGGER_PROPERTIES) {
    if (Object.hasOwn(trigger, key)) return { path: `trigger.${key}`, problem: 'is the official model property; trigger flags are snake_case on the wire' }
  }
  return undefined
}

function checkEnvelope(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail('a WorkstreamEvents object', v)
  // An inherited `iterable` (a polluted Object.prototype) must never pass for an empty snapshot.
  const iterable = Object.hasOwn(v, 'iterable') ? v.iterable : undefined
  if (!Array.isArray(iterable)) return field('iterable', fail(AN_ARRAY, iterable))
  return field('schema', optSchema(v.schema)) ?? field('indices', opt(checkNumberMap, v.indices))
    ?? field('score', opt(checkScore, v.score))
}

function checkEvent(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('id', checkId(v.id)) ?? field('application', checkApplication(v.application))
    ?? field('created', checkTimestamp(v.created)) ?? field('updated', checkTimestamp(v.updated))
    ?? field('trigger', checkTrigger(v.trigger)) ?? field('schema', optSchema(v.schema))
    ?? field('score', opt(checkScore, v.score)) ?? field('context', opt(checkContext, v.context))
    ?? field('summaries', opt(checkReferences, v.summaries)) ?? field('tags', opt(checkTags, v.tags))
    ?? field('readable', optString(v.readable))
    ?? field('workstreamEventsVector', opt(checkNumberArray, v.workstreamEventsVector))
    ?? field('sources', opt(checkReferences, v.sources)) ?? field('windowTitle', optString(v.windowTitle))
    ?? field('browserUrl', optString(v.browserUrl)) ?? field('processing', optString(v.processing))
    ?? field('messages', opt(checkReferences, v.messages)) ?? field('annotations', opt(checkReferences, v.annotations))
    ?? field('anchors', opt(checkReferences, v.anchors)) ?? field('websites', opt(checkWebsites, v.websites))
    ?? field('source_windows', opt(checkSourceWindows, v.source_windows)) ?? field('persons', opt(checkReferences, v.persons))
}

function checkSeed(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail('a SeededWorkstreamEvent object', v)
  return field('application', checkApplication(v.application)) ?? field('trigger', checkTrigger(v.trigger))
    ?? field('internal_identifier', opt(checkId, v.internal_identifier)) ?? field('schema', optSchema(v.schema))
    ?? field('score', opt(checkScore, v.score)) ?? field('context', opt(checkContext, v.context))
    ?? field('summary', opt(checkReference, v.summary)) ?? field('readable', optString(v.readable))
    ?? field('workstreamEventsVector', opt(checkNumberArray, v.workstreamEventsVector))
    ?? field('processing', optString(v.processing)) ?? field('tags', opt(checkTags, v.tags))
    ?? field('anchors', opt(checkReferences, v.anchors)) ?? field('websites', opt(checkWebsites, v.websites))
    ?? field('persons', opt(checkReferences, v.persons))
}

function checkApplication(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('id', checkString(v.id)) ?? field('name', checkString(v.name)) ?? field('version', checkString(v.version))
    ?? field('platform', checkString(v.platform)) ?? field('onboarded', checkBoolean(v.onboarded))
    ?? field('privacy', checkString(v.privacy)) ?? field('schema', optSchema(v.schema))
    ?? field('capabilities', optString(v.capabilities)) ?? field('mechanism', optString(v.mechanism))
    ?? field('automaticUnload', optBoolean(v.automaticUnload)) ?? field('enrichment', opt(checkEnrichment, v.enrichment))
}

function checkEnrichment(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('schema', optSchema(v.schema)) ?? field('tags', optNumber(v.tags)) ?? field('websites', optNumber(v.websites))
    ?? field('persons', optNumber(v.persons)) ?? field('hints', optNumber(v.hints))
}

function checkTrigger(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('schema', optSchema(v.schema)) ?? field('check_in', optBoolean(v.check_in)) ?? field('copy', optBoolean(v.copy))
    ?? field('paste', optBoolean(v.paste)) ?? field('file_open', optBoolean(v.file_open))
    ?? field('file_close', optBoolean(v.file_close)) ?? field('tab_switch', optBoolean(v.tab_switch))
    ?? field('tab_close', optBoolean(v.tab_close)) ?? field('tab_open', optBoolean(v.tab_open))
    ?? field('tab_enter', optBoolean(v.tab_enter)) ?? field('tab_leave', optBoolean(v.tab_leave))
    ?? field('url_changed', optBoolean(v.url_changed)) ?? field('application_enter', optBoolean(v.application_enter))
    ?? field('application_leave', optBoolean(v.application_leave))
    ?? field('application_switch', optBoolean(v.application_switch))
    ?? field('native_screenshot', optBoolean(v.native_screenshot))
}

function checkSchema(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('migration', checkNumber(v.migration)) ?? field('semantic', checkString(v.semantic))
}

function checkTimestamp(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('value', checkIsoDate(v.value)) ?? field('schema', optSchema(v.schema)) ?? field('readable', optString(v.readable))
}

function checkScore(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('manual', checkNumber(v.manual)) ?? field('automatic', checkNumber(v.automatic))
    ?? field('schema', optSchema(v.schema)) ?? field('priority', optNumber(v.priority)) ?? field('reuse', optNumber(v.reuse))
    ?? field('update', optNumber(v.update)) ?? field('reference', optNumber(v.reference))
    ?? field('searched', optNumber(v.searched))
}

/* The context: what the IDE, the browser or the screen showed when the event happened. */

function checkContext(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('schema', optSchema(v.schema)) ?? field('ide', opt(checkIde, v.ide))
    ?? field('browser', opt(checkBrowser, v.browser)) ?? field('native_ocr', opt(checkNativeOcr, v.native_ocr))
    ?? field('accessibility', opt(checkAccessibility, v.accessibility))
}

function checkIde(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('schema', optSchema(v.schema)) ?? field('tabs', opt(checkIdeTabs, v.tabs))
    ?? field('modules', opt(checkProjectModules, v.modules)) ?? field('name', optString(v.name))
}

function checkIdeTab(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('anchor', checkSeededAnchor(v.anchor)) ?? field('schema', optSchema(v.schema))
    ?? field('value', opt(checkTransferable, v.value)) ?? field('classification', opt(checkClassification, v.classification))
    ?? field('selections', opt(checkUnmodelled, v.selections)) ?? field('range', opt(checkRange, v.range))
    ?? field('current', optBoolean(v.current)) ?? field('contributors', opt(checkUnmodelled, v.contributors))
    ?? field('lsp', opt(checkUnmodelled, v.lsp))
}

function checkProjectModule(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('anchor', checkSeededAnchor(v.anchor)) ?? field('schema', optSchema(v.schema))
    ?? field('range', opt(checkRange, v.range)) ?? field('contributors', opt(checkUnmodelled, v.contributors))
    ?? field('classifications', opt(checkClassifications, v.classifications))
}

function checkBrowser(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('schema', optSchema(v.schema)) ?? field('tabs', opt(checkBrowserTabs, v.tabs))
}

function checkBrowserTab(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('schema', optSchema(v.schema)) ?? field('values', opt(checkBrowserTabValues, v.values))
    ?? field('anchor', opt(checkSeededAnchor, v.anchor)) ?? field('website', opt(checkSeededWebsite, v.website))
    ?? field('range', opt(checkRange, v.range)) ?? field('current', optBoolean(v.current))
    ?? field('contributors', opt(checkUnmodelled, v.contributors))
}

function checkBrowserTabValue(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('schema', optSchema(v.schema)) ?? field('html', opt(checkTransferable, v.html))
    ?? field('md', opt(checkTransferable, v.md)) ?? field('text', opt(checkTransferable, v.text))
    ?? field('snippet', opt(checkBrowserSelection, v.snippet)) ?? field('selection', opt(checkBrowserSelection, v.selection))
}

function checkBrowserSelection(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('classification', checkClassification(v.classification)) ?? field('value', checkTransferable(v.value))
    ?? field('schema', optSchema(v.schema))
}

function checkNativeOcr(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('ocrText', checkString(v.ocrText)) ?? field('ocrTextHash', checkString(v.ocrTextHash))
    ?? field('appTitle', checkString(v.appTitle)) ?? field('windowTitle', checkString(v.windowTitle))
    ?? field('isMerged', checkBoolean(v.isMerged)) ?? field('isCached', checkBoolean(v.isCached))
    ?? field('schema', optSchema(v.schema)) ?? field('browserUrl', optString(v.browserUrl))
    ?? field('embeddingModelUniqueName', optString(v.embeddingModelUniqueName))
}

function checkAccessibility(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('accessibilityText', checkString(v.accessibilityText)) ?? field('appTitle', checkString(v.appTitle))
    ?? field('windowTitle', checkString(v.windowTitle)) ?? field('isMerged', checkBoolean(v.isMerged))
    ?? field('isCached', checkBoolean(v.isCached)) ?? field('schema', optSchema(v.schema))
    ?? field('browserUrl', optString(v.browserUrl))
}

function checkSeededAnchor(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('type', checkString(v.type)) ?? field('fullpath', checkString(v.fullpath)) ?? field('schema', optSchema(v.schema))
    ?? field('watch', optBoolean(v.watch)) ?? field('asset', optString(v.asset)) ?? field('platform', optString(v.platform))
    ?? field('name', optString(v.name)) ?? field('annotations', opt(checkUnmodelledArray, v.annotations))
    ?? field('conversation', optString(v.conversation)) ?? field('persons', opt(checkReferences, v.persons))
}

function checkSeededWebsite(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('url', checkString(v.url)) ?? field('name', checkString(v.name)) ?? field('schema', optSchema(v.schema))
    ?? field('asset', optString(v.asset)) ?? field('conversation', optString(v.conversation))
    ?? field('mechanism', optString(v.mechanism)) ?? field('person', optString(v.person))
}

function checkTransferable(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('schema', optSchema(v.schema)) ?? field('raw', optString(v.raw)) ?? field('base64', optString(v.base64))
    ?? field('base64_url', optString(v.base64_url)) ?? field('data_url', optString(v.data_url))
}

function checkClassification(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('generic', checkString(v.generic)) ?? field('specific', checkString(v.specific))
    ?? field('schema', optSchema(v.schema)) ?? field('rendering', optString(v.rendering))
}

function checkRange(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('schema', optSchema(v.schema)) ?? field('from', opt(checkTimestamp, v.from))
    ?? field('to', opt(checkTimestamp, v.to)) ?? field('between', optBoolean(v.between))
    ?? field('continuous', optBoolean(v.continuous))
}

function checkIdeTabs(v: unknown): Failure | undefined { return checkList(v, checkIdeTab) }
function checkProjectModules(v: unknown): Failure | undefined { return checkList(v, checkProjectModule) }
function checkBrowserTabs(v: unknown): Failure | undefined { return checkList(v, checkBrowserTab) }
function checkBrowserTabValues(v: unknown): Failure | undefined { return checkList(v, checkBrowserTabValue) }
function checkClassifications(v: unknown): Failure | undefined { return checkList(v, checkClassification) }

/* Flattened collections and the bodies of the references this library models. */

function checkTags(v: unknown): Failure | undefined { return checkCollection(v, checkTagBody) }
function checkWebsites(v: unknown): Failure | undefined { return checkCollection(v, checkWebsiteBody) }
function checkSourceWindows(v: unknown): Failure | undefined { return checkCollection(v, checkSourceWindowBody) }
function checkReferences(v: unknown): Failure | undefined { return checkCollection(v, checkReferenceBody) }
function checkReference(v: unknown): Failure | undefined { return checkReferenceWith(v, checkReferenceBody) }

function checkCollection(v: unknown, checkBody: Check): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  const iterable = v.iterable
  if (!Array.isArray(iterable)) return field('iterable', fail(AN_ARRAY, iterable))
  for (let i = 0; i < iterable.length; i++) {
    const failure = checkReferenceWith(iterable[i], checkBody)
    if (failure) return at('iterable', atIndex(i, failure))
  }
  return field('schema', optSchema(v.schema)) ?? field('indices', opt(checkNumberMap, v.indices))
    ?? field('score', opt(checkScore, v.score))
}

function checkReferenceWith(v: unknown, checkBody: Check): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('id', checkString(v.id)) ?? field('schema', optSchema(v.schema)) ?? field('reference', opt(checkBody, v.reference))
}

function checkReferenceBody(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('id', checkString(v.id))
}

function checkTagBody(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('id', checkString(v.id)) ?? field('text', checkString(v.text)) ?? field('created', checkTimestamp(v.created))
    ?? field('updated', checkTimestamp(v.updated)) ?? field('category', checkString(v.category))
    ?? field('schema', optSchema(v.schema)) ?? field('mechanisms', opt(checkStringMap, v.mechanisms))
    ?? field('deleted', opt(checkTimestamp, v.deleted)) ?? field('relationship', opt(checkUnmodelled, v.relationship))
    ?? field('interactions', optNumber(v.interactions)) ?? field('score', opt(checkScore, v.score))
    ?? field('tagsVector', opt(checkNumberArray, v.tagsVector))
    ?? field('assets', opt(checkReferences, v.assets)) ?? field('persons', opt(checkReferences, v.persons))
    ?? field('summaries', opt(checkReferences, v.summaries))
    ?? field('workstream_events', opt(checkReferences, v.workstream_events))
    ?? field('messages', opt(checkReferences, v.messages)) ?? field('annotations', opt(checkReferences, v.annotations))
    ?? field('source_windows', opt(checkReferences, v.source_windows)) ?? field('websites', opt(checkReferences, v.websites))
    ?? field('anchors', opt(checkReferences, v.anchors))
}

function checkWebsiteBody(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('id', checkString(v.id)) ?? field('name', checkString(v.name)) ?? field('url', checkString(v.url))
    ?? field('created', checkTimestamp(v.created)) ?? field('updated', checkTimestamp(v.updated))
    ?? field('schema', optSchema(v.schema)) ?? field('deleted', opt(checkTimestamp, v.deleted))
    ?? field('mechanisms', opt(checkStringMap, v.mechanisms)) ?? field('interactions', optNumber(v.interactions))
    ?? field('score', opt(checkScore, v.score))
    ?? field('assets', opt(checkReferences, v.assets)) ?? field('persons', opt(checkReferences, v.persons))
    ?? field('conversations', opt(checkReferences, v.conversations)) ?? field('summaries', opt(checkReferences, v.summaries))
    ?? field('messages', opt(checkReferences, v.messages)) ?? field('annotations', opt(checkReferences, v.annotations))
    ?? field('workstream_events', opt(checkReferences, v.workstream_events)) ?? field('sources', opt(checkReferences, v.sources))
    ?? field('source_windows', opt(checkReferences, v.source_windows)) ?? field('tags', opt(checkReferences, v.tags))
}

function checkSourceWindowBody(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('id', checkString(v.id)) ?? field('name', checkString(v.name)) ?? field('created', checkTimestamp(v.created))
    ?? field('updated', checkTimestamp(v.updated)) ?? field('schema', optSchema(v.schema))
    ?? field('score', opt(checkScore, v.score)) ?? field('workstream_events', opt(checkReferences, v.workstream_events))
    ?? field('websites', opt(checkReferences, v.websites)) ?? field('tags', opt(checkReferences, v.tags))
}

/* Primitives. */

function checkList(v: unknown, checkItem: Check): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  const iterable = v.iterable
  if (!Array.isArray(iterable)) return field('iterable', fail(AN_ARRAY, iterable))
  for (let i = 0; i < iterable.length; i++) {
    const failure = checkItem(iterable[i])
    if (failure) return at('iterable', atIndex(i, failure))
  }
  return field('schema', optSchema(v.schema))
}

function checkUnmodelled(v: unknown): Failure | undefined {
  return isObject(v) ? undefined : fail(AN_OBJECT, v)
}

function checkUnmodelledArray(v: unknown): Failure | undefined {
  if (!Array.isArray(v)) return fail(AN_ARRAY, v)
  for (let i = 0; i < v.length; i++) if (!isObject(v[i])) return atIndex(i, fail(AN_OBJECT, v[i]))
  return undefined
}

function checkNumberArray(v: unknown): Failure | undefined {
  if (!Array.isArray(v)) return fail('an array of numbers', v)
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'number') return atIndex(i, fail(A_NUMBER, v[i]))
  return undefined
}

// for-in also walks inherited enumerable keys (a polluted Object.prototype); only an own key
// can fail, and Object.hasOwn runs only then, because it costs more than the typeof.
function checkNumberMap(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  for (const key in v) if (typeof v[key] !== 'number' && Object.hasOwn(v, key)) return atKey(key, fail(A_NUMBER, v[key]))
  return undefined
}

function checkStringMap(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  for (const key in v) if (typeof v[key] !== 'string' && Object.hasOwn(v, key)) return atKey(key, fail(A_STRING, v[key]))
  return undefined
}

function checkIsoDate(v: unknown): Failure | undefined {
  if (typeof v === 'string' && (isCanonicalUtc(v) || (ISO_DATE_TIME_PREFIX.test(v) && !Number.isNaN(Date.parse(v))))) return undefined
  return fail(AN_ISO_DATE, v)
}

/**
 * `YYYY-MM-DDTHH:MM:SS[.fraction]Z` with real calendar values: what toISOString and Pieces OS
 * write, and what every engine's Date.parse accepts. Date.parse costs about 0.8 µs, several
 * times the rest of an event's check, so the usual form skips it; any other form still goes
 * through it.
 */
function isCanonicalUtc(s: string): boolean {
  const n = s.length
  if (n < 20 || n > 30 || s.charCodeAt(n - 1) !== 90 /* Z */) return false
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return false
  const year = digits(s, 0, 4)
  const month = digits(s, 5, 2)
  const day = digits(s, 8, 2)
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false
  const hour = digits(s, 11, 2)
  const minute = digits(s, 14, 2)
  const second = digits(s, 17, 2)
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return false
  if (n === 20) return true
  return s.charCodeAt(19) === 46 /* . */ && n > 21 && digits(s, 20, n - 21) >= 0
}

/** The decimal value of `count` digits from `start`, or -1 if one is not a digit. */
function digits(s: string, start: number, count: number): number {
  let value = 0
  for (let i = start; i < start + count; i++) {
    const digit = s.charCodeAt(i) - 48
    if (digit < 0 || digit > 9) return -1
    value = value * 10 + digit
  }
  return value
}

function daysInMonth(year: number, month: number): number {
  if (month !== 2) return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28
}

function checkId(v: unknown): Failure | undefined {
  return isValidId(v) ? undefined : fail('a non-empty string', v)
}

function checkString(v: unknown): Failure | undefined {
  return typeof v === 'string' ? undefined : fail(A_STRING, v)
}

function checkNumber(v: unknown): Failure | undefined {
  return typeof v === 'number' ? undefined : fail(A_NUMBER, v)
}

function checkBoolean(v: unknown): Failure | undefined {
  return typeof v === 'boolean' ? undefined : fail(A_BOOLEAN, v)
}

/** Absent and null both mean "not set" for an optional key. */
function opt(check: Check, v: unknown): Failure | undefined {
  return v == null ? undefined : check(v)
}

function optString(v: unknown): Failure | undefined { return v == null ? undefined : checkString(v) }
function optNumber(v: unknown): Failure | undefined { return v == null ? undefined : checkNumber(v) }
function optBoolean(v: unknown): Failure | undefined { return v == null ? undefined : checkBoolean(v) }
function optSchema(v: unknown): Failure | undefined { return v == null ? undefined : checkSchema(v) }

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/* Failures: built only when a check fails, and given their path on the way out. */

function fail(expected: string, got: unknown): Failure {
  return { path: '', problem: got === undefined ? `expected ${expected} (missing)` : `expected ${expected}, got ${describe(got)}` }
}

function field(key: string, failure: Failure | undefined): Failure | undefined {
  return failure && at(key, failure)
}

function at(key: string, failure: Failure): Failure {
  failure.path = join(key, failure.path)
  return failure
}

function atIndex(index: number, failure: Failure): Failure {
  const rest = failure.path
  failure.path = rest === '' || rest.startsWith('[') ? `[${index}]${rest}` : `[${index}].${rest}`
  return failure
}

function atKey(key: string, failure: Failure): Failure {
  failure.path = IDENTIFIER.test(key) ? key : `[${JSON.stringify(key)}]`
  return failure
}

function join(prefix: string, rest: string): string {
  if (prefix === '') return rest
  if (rest === '') return prefix
  return rest.startsWith('[') ? prefix + rest : `${prefix}.${rest}`
}

function message(prefix: string, failure: Failure): string {
  const path = join(prefix, failure.path)
  return path === '' ? failure.problem : `${path}: ${failure.problem}`
}

function describe(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (v instanceof Date) return 'a Date object (send its toISOString())'
  if (typeof v === 'string') return v.length > 40 ? `${JSON.stringify(v.slice(0, 40))}... (${v.length} characters)` : JSON.stringify(v)
  if (typeof v === 'object') return 'an object'
  return `a ${typeof v}`
}
