import type { ReactElement } from 'react'
import type { PendingMutation, WorkstreamStore } from '../../src/index'
import { useWorkstreamEvent } from '../../src/react/index'
import { eventTitle, mutationMark } from './eventText'

interface OutboxPanelProps {
  store: WorkstreamStore
  outbox: readonly PendingMutation[]
  /** Titles of events deleted from this page: a deleted event is no longer in the view. */
  deletedTitles: ReadonlyMap<string, string>
}

/** Every mutation not yet confirmed, with Retry and Discard for the dead letters. */
export function OutboxPanel({ store, outbox, deletedTitles }: OutboxPanelProps): ReactElement {
  return (
    <section className="panel outbox" aria-labelledby="outbox-heading">
      <h2 id="outbox-heading">
        Outbox <span className="count">{outbox.length}</span>
      </h2>
      {outbox.length === 0 ? (
        <p className="empty">Nothing waiting: every change reached the server.</p>
      ) : (
        <ul className="mutations" aria-label="Outbox">
          {outbox.map((mutation) => (
            <OutboxRow key={mutation.id} store={store} mutation={mutation} deletedTitle={deletedTitles.get(mutation.eventId)} />
          ))}
        </ul>
      )}
    </section>
  )
}

interface OutboxRowProps {
  store: WorkstreamStore
  mutation: PendingMutation
  deletedTitle: string | undefined
}

function OutboxRow({ store, mutation, deletedTitle }: OutboxRowProps): ReactElement {
  const event = useWorkstreamEvent(store, mutation.eventId)
  const mark = mutationMark(mutation)
  const what = event ? eventTitle(event) : deletedTitle ?? `event ${mutation.eventId.slice(0, 8)}`
  const verb = mutation.kind === 'create' ? 'Create' : 'Delete'
  return (
    <li className={`mutation mutation-${mark.kind}`}>
      <div>
        <span className="verb">{verb}</span> <span className="what">{what}</span>
      </div>
      <div className="mutation-state">
        <span className={`mark mark-${mark.kind}`}>{mark.text}</span> <span className="detail" title={mark.error}>
          {mark.detail}
        </span>
      </div>
      {mutation.state === 'dead' && (
        <div className="actions">
          <button type="button" aria-label={`Retry: ${verb.toLowerCase()} “${what}”`} onClick={() => store.retryMutation(mutation.id)}>
            Retry
          </button>
          <button type="button" aria-label={`Discard: ${verb.toLowerCase()} “${what}”`} onClick={() => store.discardMutation(mutation.id)}>
            Discard
          </button>
        </div>
      )}
    </li>
  )
}
