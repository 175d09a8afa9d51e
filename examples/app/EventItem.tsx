import { memo, type ReactElement } from 'react'
import type { PendingMutation, WorkstreamEvent } from '../../src/index'
import { applicationLabel, eventTitle, mutationMark, triggerLabel } from './eventText'
import { relativeTime } from './relativeTime'

interface EventItemProps {
  event: WorkstreamEvent
  /** The event's create, while it is not confirmed. */
  mutation: PendingMutation | undefined
  now: number
  onDelete(event: WorkstreamEvent): void
}

/** One event of the feed. Memoised: the store keeps unchanged events identical, so they skip rendering. */
export const EventItem = memo(function EventItem({ event, mutation, now, onDelete }: EventItemProps): ReactElement {
  const title = eventTitle(event)
  const mark = mutation && mutationMark(mutation)
  const created = Date.parse(event.created.value)
  return (
    <li className={`event${mark ? ` event-${mark.kind}` : ''}`} data-event-id={event.id}>
      <div className="event-meta">
        <span className="app">{applicationLabel(event.application.name)}</span>
        <span className="trigger">{triggerLabel(event.trigger)}</span>
        <time dateTime={event.created.value} title={new Date(created).toLocaleString()}>
          {relativeTime(created, Math.max(now, created))}
        </time>
        {mark && (
          <span className={`mark mark-${mark.kind}`} title={[mark.detail, mark.error].filter(Boolean).join(': ')}>
            {mark.text}
          </span>
        )}
      </div>
      <p className="event-title">{title}</p>
      {event.browserUrl && event.browserUrl !== title && (
        <a className="event-url" href={event.browserUrl} target="_blank" rel="noreferrer">
          {event.browserUrl}
        </a>
      )}
      <button type="button" className="delete" aria-label={`Delete “${title}”`} onClick={() => onDelete(event)}>
        Delete
      </button>
    </li>
  )
})
