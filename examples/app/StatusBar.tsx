import type { ReactElement } from 'react'
import type { SyncStatus, WorkstreamStore } from '../../src/index'
import { useWorkstreamStatus } from '../../src/react/index'
import { relativeTime } from './relativeTime'

const PHASES: Readonly<Record<SyncStatus['phase'], string>> = {
  hydrating: 'Reading the cache…',
  idle: 'Idle',
  syncing: 'Syncing…',
  synced: 'Synced',
  offline: 'Offline, waiting for the network',
  error: 'Server unreachable, retrying',
  disposed: 'Stopped',
}

/** Leader, online, last synced and the pending count, as the store reports them. */
export function StatusBar({ store, now }: { store: WorkstreamStore; now: number }): ReactElement {
  const status = useWorkstreamStatus(store)
  return (
    <section className="status-bar" aria-label="Sync status">
      <span role="status" className={`phase phase-${status.phase}`} title={status.error?.message}>
        {PHASES[status.phase]}
      </span>
      <span className="fact">{status.isLeader ? 'Leader tab' : 'Follower tab'}</span>
      <span className={`fact ${status.online ? '' : 'warn'}`}>{status.online ? 'Online' : 'Offline'}</span>
      <span className="fact">
        Last synced{' '}
        {status.lastSyncedAt === undefined ? (
          'never'
        ) : (
          <time dateTime={new Date(status.lastSyncedAt).toISOString()}>{relativeTime(status.lastSyncedAt, Math.max(now, status.lastSyncedAt))}</time>
        )}
      </span>
      <span className={`fact ${status.pending > 0 ? 'busy' : ''}`} data-testid="pending-count">
        {status.pending} pending
      </span>
      {status.dead > 0 && <span className="fact warn">{status.dead} dead</span>}
    </section>
  )
}
