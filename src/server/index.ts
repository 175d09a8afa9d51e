/**
 * The embedded, Pieces-compatible WorkstreamEvents server (Node only), with fault injection and sample data.
 *
 * @module workstream-sync/server
 */
export { startWorkstreamServer } from './workstreamServer'
export type { WorkstreamServer, WorkstreamServerOptions } from './workstreamServer'
export type { AddFaultOptions, Fault, FaultController, FaultTarget, Route } from './faults'
export type { RecordedRequest, RequestLog } from './requestLog'
export type { AllowedOrigins } from './cors'
export { runServeCommand, SERVE_USAGE } from './serveCommand'
export type { CommandIo } from './serveCommand'
export { generateSampleEvents, generateSampleSeed, seededRandom } from './sampleEvents'
export type { SampleEventsOptions } from './sampleEvents'
