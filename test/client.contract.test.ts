import { Configuration, SeededWorkstreamEventFromJSON, WorkstreamEventsApi } from '@pieces.app/pieces-os-client'
import { describe, expect, it } from 'vitest'
import { createWorkstreamClient } from '../src/client'
import { generateSampleEvents, generateSampleSeed, seededRandom } from '../src/server/sampleEvents'

interface Seen {
  method: string
  path: string
  query: Record<string, string>
  headers: Record<string, string>
  body: unknown
}

const BASE = 'http://127.0.0.1:9'
const event = generateSampleEvents({ count: 1, seed: 5 })[0]!

/** A fetch that records the request and answers like Pieces OS would, without a network. */
function recordingFetch(seen: Seen[]): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init)
    const url = new URL(request.url)
    const headers: Record<string, string> = {}
    request.headers.forEach((value, key) => {
      headers[key] = value
    })
    const text = await request.text()
    seen.push({ method: request.method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers, body: text === '' ? undefined : JSON.parse(text) })
    if (url.pathname.endsWith('/delete')) return new Response(null, { status: 204 })
    const body = url.pathname.endsWith('/create') ? event : { iterable: [event] }
    return new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } })
  }
}

function clients(applicationId?: string) {
  const ours: Seen[] = []
  const official: Seen[] = []
  const client = createWorkstreamClient({ baseUrl: BASE, fetch: recordingFetch(ours), ...(applicationId ? { applicationId } : {}) })
  const api = new WorkstreamEventsApi(new Configuration({ basePath: BASE, fetchApi: recordingFetch(official), ...(applicationId ? { apiKey: applicationId } : {}) }))
  return { client, api, ours, official }
}

describe('our client and the official client send the same requests', () => {
  it('for a snapshot, with and without transferables', async () => {
    const { client, api, ours, official } = clients()
    for (const transferables of [undefined, true, false]) {
      await client.snapshot(transferables === undefined ? {} : { transferables })
      await api.workstreamEventsSnapshot(transferables === undefined ? {} : { transferables })
    }
    expect(ours).toEqual(official)
  })

  it('for a create, body included', async () => {
    const { client, api, ours, official } = clients()
    const seed = { ...generateSampleSeed(seededRandom(3)), internal_identifier: 'client-id-1' }
    await client.create(seed, { transferables: false })
    await api.workstreamEventsCreateNewWorkstreamEvent({ transferables: false, seededWorkstreamEvent: SeededWorkstreamEventFromJSON(seed) })
    expect(ours).toEqual(official)
  })

  it('for a delete of an id with reserved characters', async () => {
    const { client, api, ours, official } = clients()
    for (const id of ['plain-id', 'a/b?c#d', '100% ü']) {
      await client.delete(id)
      await api.workstreamEventsDeleteSpecificWorkstreamEvent({ workstreamEvent: id })
    }
    expect(ours).toEqual(official)
  })

  it('with the X-Application-ID header when an application id is set', async () => {
    const { client, api, ours, official } = clients('my-app')
    await client.snapshot()
    await api.workstreamEventsSnapshot({})
    expect(ours).toEqual(official)
    expect(ours[0]!.headers['x-application-id']).toBe('my-app')
  })
})
