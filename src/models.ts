/*
 * The WorkstreamEvents wire format, key for key, as the official `@pieces.app/pieces-os-client`
 * `*ToJSON` functions write it. Timestamps stay ISO strings so that events are plain,
 * structured-cloneable data. Holders of official model objects convert with `*ToJSON`.
 *
 * Enumerations accept any string: a newer Pieces OS may add values, and an unknown value
 * must not quarantine an otherwise good event.
 */

/** A string enumeration that names the known values but tolerates new ones. */
export type OpenEnum<Known extends string> = Known | (string & {})

export type ApplicationName = OpenEnum<
  | 'UNKNOWN' | 'SUBLIME' | 'VS_CODE' | 'JETBRAINS' | 'FIREFOX_ADDON_MV2' | 'FIREFOX_ADDON_MV3'
  | 'SAFARI_EXTENSION_MV2' | 'SAFARI_EXTENSION_MV3' | 'PIECES_FOR_DEVELOPERS' | 'PIECES_FOR_DEVELOPERS_CLI'
  | 'OS_SERVER' | 'GOOGLE_CHROME_EXTENSION_MV2' | 'GOOGLE_CHROME_EXTENSION_MV3' | 'ULTRA_EDIT' | 'ATOM_PACKAGE'
  | 'ADOBE_ILLUSTRATOR_PIECES_COLOR_SHARE' | 'MICROSOFT_TEAMS' | 'CHAT_GPT' | 'OBSIDIAN' | 'JUPYTER_HUB'
  | 'VISUAL_STUDIO' | 'MICROSOFT_EDGE' | 'BRAVE' | 'GOOGLE_CHAT' | 'SLACK' | 'AZURE_DATA_STUDIO' | 'OPEN_SOURCE'
  | 'R_STUDIO' | 'VIM' | 'NOTION' | 'GITHUB_DESKTOP' | 'RAYCAST' | 'REPLIT' | 'ALFRED' | 'FIGMA' | 'SKETCH'
  | 'ADOBE_ILLUSTRATOR' | 'NOTEPAD_PLUS_PLUS' | 'EMBEETLE' | 'ECLIPSE' | 'X_CODE' | 'NETBEANS' | 'OPERA'
>
export type Platform = OpenEnum<'UNKNOWN' | 'WEB' | 'MACOS' | 'LINUX' | 'WINDOWS' | 'FUCHSIA' | 'IOS' | 'ANDROID'>
export type Privacy = OpenEnum<'UNKNOWN' | 'OPEN' | 'CLOSED' | 'ANONYMOUS'>
export type Capabilities = OpenEnum<'UNKNOWN' | 'LOCAL' | 'CLOUD' | 'BLENDED'>
export type Mechanism = OpenEnum<'UNKNOWN' | 'MANUAL' | 'RECOMMENDED' | 'AUTOMATIC' | 'INTERNAL' | 'DELETED' | 'EXTERNAL_AGENT'>
export type SchemaSemanticVersion = OpenEnum<'UNKNOWN' | 'MAJOR_0_MINOR_0_PATCH_1'>

export interface EmbeddedModelSchema {
  migration: number
  semantic: SchemaSemanticVersion
}

export interface GroupedTimestamp {
  schema?: EmbeddedModelSchema
  /** An ISO 8601 date-time string. */
  value: string
  readable?: string
}

export interface Score {
  schema?: EmbeddedModelSchema
  manual: number
  automatic: number
  priority?: number
  reuse?: number
  update?: number
  reference?: number
  searched?: number
}

/** Which action produced the event. The flags are snake_case on the wire. */
export interface WorkstreamEventTrigger {
  schema?: EmbeddedModelSchema
  check_in?: boolean
  copy?: boolean
  paste?: boolean
  file_open?: boolean
  file_close?: boolean
  tab_switch?: boolean
  tab_close?: boolean
  tab_open?: boolean
  tab_enter?: boolean
  tab_leave?: boolean
  url_changed?: boolean
  application_enter?: boolean
  application_leave?: boolean
  application_switch?: boolean
  native_screenshot?: boolean
}

export interface Application {
  schema?: EmbeddedModelSchema
  id: string
  name: ApplicationName
  version: string
  platform: Platform
  onboarded: boolean
  privacy: Privacy
  capabilities?: Capabilities
  mechanism?: Mechanism
  automaticUnload?: boolean
  enrichment?: SeededAssetEnrichment
}

/* DEEP-MODELS: the nested models below are completed key for key from the official client. */
export type SeededAssetEnrichment = Record<string, unknown>
export type WorkstreamEventContext = Record<string, unknown>
export type FlattenedWorkstreamSummaries = Record<string, unknown>
export type ReferencedWorkstreamSummary = Record<string, unknown>
export type FlattenedTags = Record<string, unknown>
export type FlattenedIdentifiedWorkstreamPatternEngineSources = Record<string, unknown>
export type FlattenedConversationMessages = Record<string, unknown>
export type FlattenedAnnotations = Record<string, unknown>
export type FlattenedAnchors = Record<string, unknown>
export type FlattenedWebsites = Record<string, unknown>
export type FlattenedWorkstreamPatternEngineSourceWindows = Record<string, unknown>
export type FlattenedPersons = Record<string, unknown>

/** One workstream event, as the server sends it. */
export interface WorkstreamEvent {
  schema?: EmbeddedModelSchema
  id: string
  score?: Score
  application: Application
  created: GroupedTimestamp
  updated: GroupedTimestamp
  trigger: WorkstreamEventTrigger
  context?: WorkstreamEventContext
  summaries?: FlattenedWorkstreamSummaries
  tags?: FlattenedTags
  readable?: string
  workstreamEventsVector?: number[]
  sources?: FlattenedIdentifiedWorkstreamPatternEngineSources
  windowTitle?: string
  browserUrl?: string
  processing?: Capabilities
  messages?: FlattenedConversationMessages
  annotations?: FlattenedAnnotations
  anchors?: FlattenedAnchors
  websites?: FlattenedWebsites
  source_windows?: FlattenedWorkstreamPatternEngineSourceWindows
  persons?: FlattenedPersons
}

/** What a caller sends to create an event. `internal_identifier` overrides the event's id. */
export interface SeededWorkstreamEvent {
  schema?: EmbeddedModelSchema
  score?: Score
  application: Application
  trigger: WorkstreamEventTrigger
  context?: WorkstreamEventContext
  summary?: ReferencedWorkstreamSummary
  internal_identifier?: string
  readable?: string
  workstreamEventsVector?: number[]
  processing?: Capabilities
  tags?: FlattenedTags
  anchors?: FlattenedAnchors
  websites?: FlattenedWebsites
  persons?: FlattenedPersons
}

/** The snapshot envelope of `GET /workstream_events`. */
export interface WorkstreamEvents {
  schema?: EmbeddedModelSchema
  iterable: WorkstreamEvent[]
  indices?: Record<string, number>
  score?: Score
}
