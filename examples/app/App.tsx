import { useCallback, useRef, type ReactElement } from 'react'
import type { WorkstreamEvent, WorkstreamStore } from '../../src/index'
import { useWorkstreamEvents, useWorkstreamOutbox, useWorkstreamStatus } from '../../src/react/index'
import { CreateForm } from './CreateForm'
import { eventTitle } from './eventText'
import { FaultSwitch } from './FaultSwitch'
import { Feed } from './Feed'
import { OutboxPanel } from './OutboxPanel'
import { StatusBar } from './StatusBar'
import { useNow } from './useNow'

/** The demo: a live feed of the store's events, a form, the outbox, the sync status and the fault switch. */
export function App({ store, controlUrl }: { store: WorkstreamStore; controlUrl: string }): ReactElement {
  const events = useWorkstreamEvents(store)
  const outbox = useWorkstreamOutbox(store)
  const { phase } = useWorkstreamStatus(store)
  const now = useNow(5000)
  const deletedTitles = useRef(new Map<string, string>())

  const onDelete = useCallback(
    (event: WorkstreamEvent) => {
      deletedTitles.current.set(event.id, eventTitle(event))
      // A failure shows in the outbox (retrying, or a dead letter); the promise has nothing to add.
      store.delete(event.id).catch(() => undefined)
    },
    [store],
  )

  return (
    <div className="app">
      <header className="top">
        <h1>
          workstream-sync <span className="subtitle">live demo</span>
        </h1>
        <StatusBar store={store} now={now} />
      </header>
      <main className="layout">
        <Feed events={events} outbox={outbox} loading={phase === 'hydrating' || phase === 'syncing'} now={now} onDelete={onDelete} />
        <aside className="side">
          <CreateForm store={store} />
          <FaultSwitch controlUrl={controlUrl} />
          <OutboxPanel store={store} outbox={outbox} deletedTitles={deletedTitles.current} />
        </aside>
      </main>
    </div>
  )
}
