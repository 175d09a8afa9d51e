import { WorkstreamSyncError } from './errors'
import { AN_ARRAY, AN_OBJECT, at, atIndex, checkBoolean, checkIsoDate, checkNumber, checkNumberArray, checkNumberMap, checkString, fail, field, isObject, join, message, opt, optBoolean, optNumber, optObject, optString, type Failure, type JsonObject } from './jsonChecks'
import type { SeededWorkstreamEvent, WorkstreamEvent, WorkstreamEvents } from './models'

/*
 * Hand-written guards for the wire models, on the hot path of every poll and of every cached
 * event on a cold start (DESIGN §6: 0.17x JSON.parse, where valibot cost 0.57x). They walk
 * what JSON.parse produced without copying it, read only the known keys, and allocate nothing
 * unless they fail: a failure carries a path relative to the model that found it, and each
 * enclosing model prepends its own key.
 *
 * Policy: check strictly what identifies, orders and displays an event, and only the shape of
 * the deep graphs. Strict: `id`, `application`, `created`, `updated`, `trigger`, `schema`,
 * `score` and the top-level strings and vector (for a seed: `application`, `trigger`,
 * `internal_identifier`, `schema`, `score`, `readable`, `processing`, the vector). Shape only:
 * `context` and an application's `enrichment` must be objects, and each `Flattened*`
 * collection (a seed's `summary` too) an object with an own `iterable` array of objects with
 * a string `id`, whose `reference`, if set, is an object. The official models call many
 * fields of those graphs required, but this library never reads them, and quarantining an
 * event because a newer or older Pieces OS left one out would hide it for nothing.
 *
 * Required keys must hold the right type; an optional key that is absent or `null` is fine
 * (generated servers write `null` for unset optionals), otherwise it must hold the right type;
 * unknown keys are allowed, for newer servers, and never read; enumerations accept any string.
 */

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

/** Checks a seed for create(): undefined when valid, else a message naming the path and the problem. `path` prefixes the message. */
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
    ?? field('score', opt(checkScore, v.score)) ?? field('context', optObject(v.context))
    ?? field('summaries', opt(checkCollection, v.summaries)) ?? field('tags', opt(checkCollection, v.tags))
    ?? field('readable', optString(v.readable))
    ?? field('workstreamEventsVector', opt(checkNumberArray, v.workstreamEventsVector))
    ?? field('sources', opt(checkCollection, v.sources)) ?? field('windowTitle', optString(v.windowTitle))
    ?? field('browserUrl', optString(v.browserUrl)) ?? field('processing', optString(v.processing))
    ?? field('messages', opt(checkCollection, v.messages)) ?? field('annotations', opt(checkCollection, v.annotations))
    ?? field('anchors', opt(checkCollection, v.anchors)) ?? field('websites', opt(checkCollection, v.websites))
    ?? field('source_windows', opt(checkCollection, v.source_windows)) ?? field('persons', opt(checkCollection, v.persons))
}

function checkSeed(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail('a SeededWorkstreamEvent object', v)
  return field('application', checkApplication(v.application)) ?? field('trigger', checkTrigger(v.trigger))
    ?? field('internal_identifier', opt(checkId, v.internal_identifier)) ?? field('schema', optSchema(v.schema))
    ?? field('score', opt(checkScore, v.score)) ?? field('context', optObject(v.context))
    ?? field('summary', opt(checkReference, v.summary)) ?? field('readable', optString(v.readable))
    ?? field('workstreamEventsVector', opt(checkNumberArray, v.workstreamEventsVector))
    ?? field('processing', optString(v.processing)) ?? field('tags', opt(checkCollection, v.tags))
    ?? field('anchors', opt(checkCollection, v.anchors)) ?? field('websites', opt(checkCollection, v.websites))
    ?? field('persons', opt(checkCollection, v.persons))
}

function checkApplication(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('id', checkString(v.id)) ?? field('name', checkString(v.name)) ?? field('version', checkString(v.version))
    ?? field('platform', checkString(v.platform)) ?? field('onboarded', checkBoolean(v.onboarded))
    ?? field('privacy', checkString(v.privacy)) ?? field('schema', optSchema(v.schema))
    ?? field('capabilities', optString(v.capabilities)) ?? field('mechanism', optString(v.mechanism))
    ?? field('automaticUnload', optBoolean(v.automaticUnload)) ?? field('enrichment', optObject(v.enrichment))
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

/* Shapes: a `Flattened*` collection of references, down to each reference's id. */

function checkCollection(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  // As for the envelope: an inherited `iterable` (a polluted Object.prototype) is no collection.
  const iterable = Object.hasOwn(v, 'iterable') ? v.iterable : undefined
  if (!Array.isArray(iterable)) return field('iterable', fail(AN_ARRAY, iterable))
  for (let i = 0; i < iterable.length; i++) {
    const failure = checkReference(iterable[i])
    if (failure) return at('iterable', atIndex(i, failure))
  }
  return field('schema', optSchema(v.schema)) ?? field('indices', opt(checkNumberMap, v.indices))
    ?? field('score', opt(checkScore, v.score))
}

function checkReference(v: unknown): Failure | undefined {
  if (!isObject(v)) return fail(AN_OBJECT, v)
  return field('id', checkString(v.id)) ?? field('reference', optObject(v.reference))
}

function checkId(v: unknown): Failure | undefined {
  return isValidId(v) ? undefined : fail('a non-empty string', v)
}

function optSchema(v: unknown): Failure | undefined { return v == null ? undefined : checkSchema(v) }
