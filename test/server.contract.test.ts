import {
  ApplicationNameEnum,
  Configuration,
  PlatformEnum,
  PrivacyEnum,
  ResponseError,
  WorkstreamEventFromJSON,
  WorkstreamEventsApi,
  WorkstreamEventsFromJSON,
  type SeededWorkstreamEvent as OfficialSeed,
} from '@pieces.app/pieces-os-client'
import { afterEach, describe, expect, it } from 'vitest'
import type { WorkstreamEvent } from '../src/models'
import { generateSampleEvents, startWorkstreamServer, type WorkstreamServer, type WorkstreamServerOptions } from '../src/server/index'

/*
 * The official generated client is the reference for the wire format (DESIGN §1): it must be
 * able to create, list and delete against our server, and its FromJSON must read every answer.
 */

let server: WorkstreamServer | undefined

afterEach(async () => {
  await server?.close()
  server = undefined
})

async function start(options: WorkstreamServerOptions = {}): Promise<{ server: WorkstreamServer; api: WorkstreamEventsApi }> {
  server = await startWorkstreamServer(options)
  return { server, api: new WorkstreamEventsApi(new Configuration({ basePath: server.url })) }
}

function officialSeed(overrides: Partial<OfficialSeed> = {}): OfficialSeed {
  return {
    application: {
      id: 'app-1',
      name: ApplicationNameEnum.VsCode,
      version: '1.90.2',
      platform: PlatformEnum.Linux,
      onboarded: true,
      privacy: PrivacyEnum.Open,
    },
    trigger: { copy: true, fileOpen: true },
    readable: 'Copied from store.ts',
    workstreamEventsVector: [0.125, -0.5],
    summary: { id: 'summary-1' },
    ...overrides,
  }
}

/** Our wire JSON as the official client models it: ISO strings become Date objects. */
function officialView(event: WorkstreamEvent): ReturnType<typeof WorkstreamEventFromJSON> {
  return WorkstreamEventFromJSON(JSON.parse(JSON.stringify(event)))
}

describe('the official WorkstreamEventsApi against our server', () => {
  it('creates an event and reads the answer with its FromJSON, dates as Dates equal to ours', async () => {
    const now = Date.parse('2025-06-02T14:30:00.000Z')
    const { server, api } = await start({ now: () => now })
    const created = await api.workstreamEventsCreateNewWorkstreamEvent({
      transferables: true,
      seededWorkstreamEvent: officialSeed({ internalIdentifier: 'client-id-1' }),
    })
    const [ours] = server.events()
    if (ours === undefined) throw new Error('the server did not store the event')

    expect(created.id).toBe('client-id-1')
    expect(created.created.value).toBeInstanceOf(Date)
    expect(created.created.value).toEqual(new Date(ours.created.value))
    expect(created.updated.value.toISOString()).toBe('2025-06-02T14:30:00.000Z')
    expect(created.trigger).toMatchObject({ copy: true, fileOpen: true })
    expect(ours.trigger).toEqual({ copy: true, file_open: true })
    expect(created.summaries?.iterable).toEqual([{ id: 'summary-1' }])
    expect(created).toEqual(officialView(ours))
  })

  it('lists a snapshot of realistic events that its FromJSON reads in full, with and without transferables', async () => {
    const events = generateSampleEvents({ count: 30 })
    const { server, api } = await start({ events })
    const ours = server.events()

    const full = await api.workstreamEventsSnapshot({ transferables: true })
    expect(full.iterable).toHaveLength(30)
    expect(full).toEqual(WorkstreamEventsFromJSON(JSON.parse(JSON.stringify({ iterable: ours, indices: full.indices }))))
    expect(full.iterable.map((item) => item.created.value)).toEqual(ours.map((item) => new Date(item.created.value)))
    expect(full.indices).toEqual(Object.fromEntries(ours.map((item, index) => [item.id, index])))

    const light = await api.workstreamEventsSnapshot({ transferables: false })
    expect(light.iterable.every((item) => item.workstreamEventsVector === undefined)).toBe(true)
    expect(light.iterable.map((item) => item.id)).toEqual(ours.map((item) => item.id))
    expect(server.requests.log.map((request) => request.query)).toEqual([{ transferables: 'true' }, { transferables: 'false' }])
  })

  it('deletes events, ids with reserved characters included', async () => {
    const { server, api } = await start()
    for (const id of ['plain', 'a/b', 'a?b#c', '100%']) {
      await api.workstreamEventsCreateNewWorkstreamEvent({ seededWorkstreamEvent: officialSeed({ internalIdentifier: id }) })
    }
    for (const id of ['a/b', 'a?b#c', '100%']) {
      await api.workstreamEventsDeleteSpecificWorkstreamEvent({ workstreamEvent: id })
    }
    expect(server.events().map((item) => item.id)).toEqual(['plain'])
    expect((await api.workstreamEventsSnapshot()).iterable.map((item) => item.id)).toEqual(['plain'])
  })

  it('sends its X-Application-ID, which the server records', async () => {
    const { server } = await start()
    const api = new WorkstreamEventsApi(new Configuration({ basePath: server.url, apiKey: 'my-app' }))
    await api.workstreamEventsSnapshot()
    expect(server.requests.log[0]?.headers['x-application-id']).toBe('my-app')
  })

  it('surfaces a 500 on an unknown delete as its ResponseError, as Pieces OS does', async () => {
    const { api } = await start({ unknownDeleteStatus: 500 })
    const failure: unknown = await api.workstreamEventsDeleteSpecificWorkstreamEvent({ workstreamEvent: 'missing' }).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(ResponseError)
    expect((failure as ResponseError).response.status).toBe(500)
    expect(await (failure as ResponseError).response.text()).toMatch(/missing/)
  })

  it('surfaces a 404 on an unknown delete and a 409 on a duplicate id as ResponseError', async () => {
    const { api } = await start()
    await api.workstreamEventsCreateNewWorkstreamEvent({ seededWorkstreamEvent: officialSeed({ internalIdentifier: 'dup' }) })
    const duplicate: unknown = await api
      .workstreamEventsCreateNewWorkstreamEvent({ seededWorkstreamEvent: officialSeed({ internalIdentifier: 'dup' }) })
      .catch((error: unknown) => error)
    expect((duplicate as ResponseError).response.status).toBe(409)
    const unknown: unknown = await api.workstreamEventsDeleteSpecificWorkstreamEvent({ workstreamEvent: 'nope' }).catch((error: unknown) => error)
    expect(unknown).toBeInstanceOf(ResponseError)
    expect((unknown as ResponseError).response.status).toBe(404)
  })
})
