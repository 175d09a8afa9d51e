import { useMemo, type ReactElement } from 'react'
import type { PendingMutation, WorkstreamEvent } from '../../src/index'
import { EventItem } from './EventItem'

interface FeedProps {
  events: readonly WorkstreamEvent[]
  outbox: readonly PendingMutation[]
  loading: boolean
  now: number
  onDelete(event: WorkstreamEvent): void
}

/** The live feed, newest first, each create marked until the server confirmed it. */
export function Feed({ events, outbox, loading, now, onDelete }: FeedProps): ReactElement {
  const creates = useMemo(() => {
    const byEvent = new Map<string, PendingMutation>()
    for (const mutation of outbox) if (mutation.kind === 'create') byEvent.set(mutation.eventId, mutation)
    return byEvent
  }, [outbox])
  return (
    <section className="feed" aria-labelledby="feed-heading">
      <h2 id="feed-heading">
        Live feed <span className="count">{events.length}</span>
      </h2>
      {events.length === 0 ? (
        <p className="empty">{loading ? 'Loading events…' : 'No events yet. Create one, or wait for the simulator.'}</p>
      ) : (
        <ol className="events" aria-label="Live feed">
          {events.map((event) => (
            <EventItem key={event.id} event={event} mutation={creates.get(event.id)} now={now} onDelete={onDelete} />
          ))}
        </ol>
      )}
    </section>
  )
}
