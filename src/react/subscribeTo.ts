import type { Observable } from 'rxjs'

/**
 * Subscribes `onChange` to `source` the way `useSyncExternalStore` wants: no arguments to the
 * callback (the snapshot getter reads the value), and the function that unsubscribes.
 */
export function subscribeTo(source: Observable<unknown>, onChange: () => void): () => void {
  const subscription = source.subscribe({
    next: () => onChange(),
    // The store's observables never error; without a handler RxJS would rethrow one out of band.
    error: () => onChange(),
  })
  return () => subscription.unsubscribe()
}
