import {
  SeededWorkstreamEventFromJSON,
  SeededWorkstreamEventToJSON,
  WorkstreamEventFromJSON,
  WorkstreamEventToJSON,
  WorkstreamEventsToJSON,
  type SeededWorkstreamEvent as OfficialSeededWorkstreamEvent,
  type WorkstreamEvent as OfficialWorkstreamEvent,
} from '@pieces.app/pieces-os-client'
import { describe, expect, it } from 'vitest'
import type { WorkstreamEvent } from '../src/models'
import { generateSampleEvents, generateSampleSeed, seededRandom } from '../src/server/sampleEvents'
import {
  checkSeededWorkstreamEvent,
  checkWorkstreamEvent,
  parseSeededWorkstreamEvent,
  parseWorkstreamEvent,
  parseWorkstreamEvents,
} from '../src/validate'

/*
 * The official generated client is the reference for the wire format (DESIGN §1). Its ToJSON
 * writes the wire keys; its FromJSON reads them and makes Date objects.
 */

const created = new Date(Date.UTC(2025, 5, 2, 9, 15, 30, 250))
const updated = new Date(Date.UTC(2025, 5, 2, 9, 16, 0, 0))
const application = {
  id: 'app-1', name: 'VS_CODE', version: '1.90.2', platform: 'MACOS', onboarded: true, privacy: 'OPEN',
  capabilities: 'BLENDED', mechanism: 'AUTOMATIC', automaticUnload: false, enrichment: { tags: 2, websites: 1 },
} as const

function officialEvent(id: string): OfficialWorkstreamEvent {
  return {
    schema: { migration: 0, semantic: 'MAJOR_0_MINOR_0_PATCH_1' },
    id,
    score: { manual: 1, automatic: 4, priority: 0 },
    application,
    created: { value: created, readable: '2 minutes ago' },
    updated: { value: updated },
    trigger: { checkIn: true, fileOpen: true, nativeScreenshot: false },
    context: {
      ide: {
        name: 'workstream-sync',
        tabs: { iterable: [{
          value: { raw: 'const a = "{\\"b\\": 1}"', base64Url: 'Y29uc3Q', dataUrl: 'data:text/plain,a' },
          classification: { generic: 'CODE', specific: 'ts' },
          anchor: { type: 'FILE', fullpath: 'C:\\src\\store.ts', platform: 'WINDOWS' },
          range: { from: { value: created }, to: { value: updated }, between: true },
          current: true,
        }] },
      },
      browser: { tabs: { iterable: [{ website: { url: 'https://rxjs.dev', name: 'RxJS' }, values: { iterable: [{ text: { raw: 'RxJS' } }] } }] } },
      nativeOcr: { ocrText: '東京 🚀', ocrTextHash: 'abc', appTitle: 'Slack', windowTitle: 'Slack', isMerged: false, isCached: true },
      accessibility: { accessibilityText: 'Zoë', appTitle: 'Teams', windowTitle: 'Teams', isMerged: false, isCached: false },
    },
    summaries: { iterable: [{ id: 'summary-1' }], indices: { 'summary-1': 0 } },
    tags: { iterable: [{ id: 'tag-1', reference: { id: 'tag-1', text: 'rxjs', created: { value: created }, updated: { value: updated }, category: 'UNKNOWN', workstreamEvents: { iterable: [{ id }] } } }] },
    readable: 'Edited store.ts',
    workstreamEventsVector: [0.25, -0.5],
    windowTitle: 'store.ts — workstream-sync',
    browserUrl: 'https://rxjs.dev',
    processing: 'LOCAL',
    websites: { iterable: [{ id: 'web-1', reference: { id: 'web-1', name: 'RxJS', url: 'https://rxjs.dev', created: { value: created }, updated: { value: updated } } }] },
    sourceWindows: { iterable: [{ id: 'win-1', reference: { id: 'win-1', name: 'store.ts', created: { value: created }, updated: { value: updated } } }] },
    persons: { iterable: [{ id: 'person-1' }] },
    anchors: { iterable: [{ id: 'anchor-1' }] },
    messages: { iterable: [] },
    annotations: { iterable: [] },
    sources: { iterable: [{ id: 'source-1' }] },
  } as OfficialWorkstreamEvent
}

/** What the official ToJSON writes, as it arrives on the wire (undefined keys gone). */
function wire(json: unknown): unknown {
  return JSON.parse(JSON.stringify(json)) as unknown
}

describe('official models serialized by the official client', () => {
  it('writes GroupedTimestamp.value as an ISO string with milliseconds and Z', () => {
    const json = WorkstreamEventToJSON(officialEvent('e1')) as { created: { value: unknown } }
    expect(json.created.value).toBe('2025-06-02T09:15:30.250Z')
  })

  it('writes the snake_case wire keys that our types name', () => {
    const json = wire(WorkstreamEventToJSON(officialEvent('e1'))) as WorkstreamEvent
    expect(json.trigger).toEqual({ check_in: true, file_open: true, native_screenshot: false })
    expect(json.source_windows?.iterable[0]?.id).toBe('win-1')
    expect(json.context?.native_ocr?.ocrText).toBe('東京 🚀')
    expect(json.context?.ide?.tabs?.iterable[0]?.value).toEqual({ raw: 'const a = "{\\"b\\": 1}"', base64_url: 'Y29uc3Q', data_url: 'data:text/plain,a' })
    expect(json.tags?.iterable[0]?.reference?.workstream_events).toEqual({ iterable: [{ id: 'e1' }] })
  })

  it('passes our event validator', () => {
    const json = wire(WorkstreamEventToJSON(officialEvent('e1')))
    expect(checkWorkstreamEvent(json)).toBeUndefined()
    expect(parseWorkstreamEvent(json)).toBe(json)
  })

  it('passes our snapshot validator', () => {
    const events = [officialEvent('e1'), officialEvent('e2')]
    const json = wire(WorkstreamEventsToJSON({ iterable: events, indices: { e1: 0, e2: 1 }, score: { manual: 0, automatic: 0 } }))
    expect(parseWorkstreamEvents(json)).toBe(json)
  })

  it('passes our seed validator, internal_identifier included', () => {
    const seed: OfficialSeededWorkstreamEvent = {
      application,
      trigger: { copy: true, tabSwitch: true },
      internalIdentifier: 'client-42',
      summary: { id: 'summary-1' },
      context: { nativeOcr: { ocrText: 'a', ocrTextHash: 'b', appTitle: 'c', windowTitle: 'd', isMerged: false, isCached: false } },
      readable: 'copied',
      workstreamEventsVector: [1, 2],
      processing: 'LOCAL',
    } as OfficialSeededWorkstreamEvent
    const json = wire(SeededWorkstreamEventToJSON(seed)) as Record<string, unknown>
    expect(json.internal_identifier).toBe('client-42')
    expect(json.trigger).toEqual({ copy: true, tab_switch: true })
    expect(checkSeededWorkstreamEvent(json)).toBeUndefined()
    expect(parseSeededWorkstreamEvent(json)).toBe(json)
  })

  it('rejects an official seed model that was not converted with ToJSON', () => {
    const seed = { application, trigger: { checkIn: true }, internalIdentifier: 'client-42' }
    expect(() => parseSeededWorkstreamEvent(seed)).toThrow(/SeededWorkstreamEventToJSON/)
  })
})

describe('our sample events read by the official client', () => {
  const samples = generateSampleEvents({ count: 120, seed: 9 })

  it('cover every kind of context, so that every key below is exercised', () => {
    for (const kind of ['ide', 'browser', 'native_ocr', 'accessibility'] as const) {
      expect(samples.some((event) => event.context?.[kind] !== undefined), kind).toBe(true)
    }
  })

  it('keep their ids, application names, trigger flags and dates', () => {
    for (const ours of samples) {
      const official = WorkstreamEventFromJSON(ours)
      expect(official.id).toBe(ours.id)
      expect(official.application.name).toBe(ours.application.name)
      expect(official.created.value.toISOString()).toBe(ours.created.value)
      expect(official.updated.value.toISOString()).toBe(ours.updated.value)
      expect(official.trigger.checkIn).toBe(ours.trigger.check_in)
      expect(official.trigger.fileOpen).toBe(ours.trigger.file_open)
      expect(official.trigger.urlChanged).toBe(ours.trigger.url_changed)
      expect(official.trigger.applicationEnter).toBe(ours.trigger.application_enter)
      expect(official.trigger.nativeScreenshot).toBe(ours.trigger.native_screenshot)
      expect(official.sourceWindows?.iterable.map((w) => w.id)).toEqual(ours.source_windows?.iterable.map((w) => w.id))
      expect(official.context?.nativeOcr?.ocrText).toBe(ours.context?.native_ocr?.ocrText)
      expect(official.tags?.iterable[0]?.reference?.created.value.toISOString()).toBe(ours.tags?.iterable[0]?.reference?.created.value)
    }
  })

  it('use only keys the official client reads: FromJSON then ToJSON gives back the same JSON', () => {
    for (const ours of samples) expect(wire(WorkstreamEventToJSON(WorkstreamEventFromJSON(ours)))).toEqual(ours)
  })

  it('make seeds that use only keys the official client reads', () => {
    const random = seededRandom(21)
    for (let i = 0; i < 60; i++) {
      const seed = generateSampleSeed(random, i)
      expect(wire(SeededWorkstreamEventToJSON(SeededWorkstreamEventFromJSON(seed)))).toEqual(seed)
    }
  })
})
