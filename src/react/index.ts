export { useWorkstreamEvents } from './useWorkstreamEvents'
export { useWorkstreamEvent } from './useWorkstreamEvent'
export { useWorkstreamStatus } from './useWorkstreamStatus'
export { useWorkstreamOutbox } from './useWorkstreamOutbox'
