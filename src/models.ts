/*
 * The WorkstreamEvents wire format, key for key, as the official `@pieces.app/pieces-os-client`
 * `*ToJSON` functions write it. Timestamps stay ISO strings so that events are plain,
 * structured-cloneable data. Holders of official model objects convert with `*ToJSON`.
 *
 * Enumerations accept any string: a newer Pieces OS may add values, and an unknown value
 * must not quarantine an otherwise good event.
 *
 * An optional key may also arrive as `null` (generated servers write null for unset values)
 * and the validators accept that as absent, without copying the event to strip it: test
 * optional keys with `== null` or `?.`, not `=== undefined`.
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

/*
 * DEEP-MODELS: the nested models, key for key from the official client's ToJSON. The context
 * is modelled down to tabs, anchors and websites. References to tags, websites and source
 * windows carry typed bodies; references to models with large graphs of their own carry a
 * ReferenceBody, and the collections inside any body stop at ids (FlattenedReferences).
 */
export type AnchorType = OpenEnum<'UNKNOWN' | 'FILE' | 'DIRECTORY'>
export type TagCategory = OpenEnum<'UNKNOWN' | 'HANDLE' | 'EMAIL'>
export type ClassificationGeneric = OpenEnum<
  'UNKNOWN' | 'CODE' | 'TEXT' | 'IMAGE' | 'VIDEO' | 'EXTERNAL_RESOURCE_REFERENCE' | 'FILE'
>
/** A file extension such as `ts` or `py` (the official enum lists about 500 of them). */
export type ClassificationSpecific = OpenEnum<'UNKNOWN' | 'ts' | 'js' | 'py' | 'md' | 'json' | 'html' | 'css' | 'txt'>
export type ClassificationRendering = OpenEnum<
  'UNKNOWN' | 'HTML' | 'TWENTY_FOUR_BIT_ANSI_ESCAPED_SEQUENCES' | 'HIGHLIGHT_JS_HTML'
>

/**
 * A nested model that this library passes through without reading it (deep IDE selections,
 * contributors, language-server data, seeded annotations). It is only checked to be an object.
 */
export interface UnmodelledObject {
  [key: string]: unknown
}

/**
 * The body of a reference to a model with a large graph of its own (a summary, a conversation
 * message, a person...). Only `id` is checked; read anything else with your own checks.
 */
export interface ReferenceBody {
  id: string
  [key: string]: unknown
}

/** A reference to another model by id. `reference`, when present, is a denormalised copy of it. */
export interface Referenced<Body extends { id: string } = ReferenceBody> {
  schema?: EmbeddedModelSchema
  id: string
  reference?: Body
}

/** The shape shared by every `Flattened*` collection: references, with an optional id-to-index map. */
export interface FlattenedCollection<Item extends { id: string }> {
  schema?: EmbeddedModelSchema
  iterable: Item[]
  indices?: Record<string, number>
  score?: Score
}

/** The shape of the official lists that are not references (`IDETabs`, `BrowserTabs`...). */
export interface ModelList<Item> {
  schema?: EmbeddedModelSchema
  iterable: Item[]
}

/** A collection inside a reference body; its own references are not modelled further. */
export type FlattenedReferences = FlattenedCollection<Referenced>

/** Counts of what Pieces OS may add to an application's assets. */
export interface SeededAssetEnrichment {
  schema?: EmbeddedModelSchema
  tags?: number
  websites?: number
  persons?: number
  hints?: number
}

/** Text in one of several encodings; `base64_url` and `data_url` are snake_case on the wire. */
export interface TransferableString {
  schema?: EmbeddedModelSchema
  raw?: string
  base64?: string
  base64_url?: string
  data_url?: string
}

export interface Classification {
  schema?: EmbeddedModelSchema
  generic: ClassificationGeneric
  specific: ClassificationSpecific
  rendering?: ClassificationRendering
}

export type Classifications = ModelList<Classification>

export interface AnonymousTemporalRange {
  schema?: EmbeddedModelSchema
  from?: GroupedTimestamp
  to?: GroupedTimestamp
  between?: boolean
  continuous?: boolean
}

/** A file or directory, by its full path. */
export interface SeededAnchor {
  schema?: EmbeddedModelSchema
  type: AnchorType
  watch?: boolean
  fullpath: string
  asset?: string
  platform?: Platform
  name?: string
  annotations?: UnmodelledObject[]
  conversation?: string
  persons?: FlattenedPersons
}

export interface SeededWebsite {
  schema?: EmbeddedModelSchema
  asset?: string
  conversation?: string
  url: string
  name: string
  mechanism?: Mechanism
  person?: string
}

export interface IDETab {
  schema?: EmbeddedModelSchema
  value?: TransferableString
  classification?: Classification
  selections?: UnmodelledObject
  anchor: SeededAnchor
  range?: AnonymousTemporalRange
  current?: boolean
  contributors?: UnmodelledObject
  lsp?: UnmodelledObject
}

export type IDETabs = ModelList<IDETab>

export interface ProjectModule {
  schema?: EmbeddedModelSchema
  anchor: SeededAnchor
  range?: AnonymousTemporalRange
  contributors?: UnmodelledObject
  classifications?: Classifications
}

export type ProjectModules = ModelList<ProjectModule>

export interface BrowserSelection {
  schema?: EmbeddedModelSchema
  classification: Classification
  value: TransferableString
}

export interface BrowserTabValue {
  schema?: EmbeddedModelSchema
  html?: TransferableString
  md?: TransferableString
  text?: TransferableString
  snippet?: BrowserSelection
  selection?: BrowserSelection
}

export type BrowserTabValues = ModelList<BrowserTabValue>

export interface BrowserTab {
  schema?: EmbeddedModelSchema
  values?: BrowserTabValues
  anchor?: SeededAnchor
  website?: SeededWebsite
  range?: AnonymousTemporalRange
  current?: boolean
  contributors?: UnmodelledObject
}

export type BrowserTabs = ModelList<BrowserTab>

export interface WorkstreamEventTriggerContextIDE {
  schema?: EmbeddedModelSchema
  tabs?: IDETabs
  modules?: ProjectModules
  name?: string
}

export interface WorkstreamEventTriggerContextBrowser {
  schema?: EmbeddedModelSchema
  tabs?: BrowserTabs
}

/** Text read from the screen by OCR. */
export interface NativeOCR {
  schema?: EmbeddedModelSchema
  ocrText: string
  ocrTextHash: string
  appTitle: string
  windowTitle: string
  browserUrl?: string
  isMerged: boolean
  isCached: boolean
  embeddingModelUniqueName?: string
}

/** Text read from the screen through the accessibility APIs. */
export interface NativeAccessibility {
  schema?: EmbeddedModelSchema
  accessibilityText: string
  appTitle: string
  windowTitle: string
  browserUrl?: string
  isMerged: boolean
  isCached: boolean
}

/** Where the event happened. `native_ocr` is snake_case on the wire. */
export interface WorkstreamEventContext {
  schema?: EmbeddedModelSchema
  ide?: WorkstreamEventTriggerContextIDE
  browser?: WorkstreamEventTriggerContextBrowser
  native_ocr?: NativeOCR
  accessibility?: NativeAccessibility
}

export interface FlattenedTag {
  schema?: EmbeddedModelSchema
  id: string
  text: string
  mechanisms?: Record<string, Mechanism>
  assets?: FlattenedReferences
  created: GroupedTimestamp
  updated: GroupedTimestamp
  deleted?: GroupedTimestamp
  category: TagCategory
  relationship?: UnmodelledObject
  interactions?: number
  persons?: FlattenedReferences
  score?: Score
  summaries?: FlattenedReferences
  workstream_events?: FlattenedReferences
  messages?: FlattenedReferences
  annotations?: FlattenedReferences
  tagsVector?: number[]
  source_windows?: FlattenedReferences
  websites?: FlattenedReferences
  anchors?: FlattenedReferences
}

export interface FlattenedWebsite {
  schema?: EmbeddedModelSchema
  id: string
  assets?: FlattenedReferences
  name: string
  url: string
  created: GroupedTimestamp
  updated: GroupedTimestamp
  deleted?: GroupedTimestamp
  mechanisms?: Record<string, Mechanism>
  interactions?: number
  persons?: FlattenedReferences
  conversations?: FlattenedReferences
  score?: Score
  summaries?: FlattenedReferences
  messages?: FlattenedReferences
  annotations?: FlattenedReferences
  workstream_events?: FlattenedReferences
  sources?: FlattenedReferences
  source_windows?: FlattenedReferences
  tags?: FlattenedReferences
}

/** A window that Pieces OS read events from, such as "store.ts - workstream-sync". */
export interface FlattenedWorkstreamPatternEngineSourceWindow {
  schema?: EmbeddedModelSchema
  id: string
  name: string
  created: GroupedTimestamp
  updated: GroupedTimestamp
  score?: Score
  workstream_events?: FlattenedReferences
  websites?: FlattenedReferences
  tags?: FlattenedReferences
}

export type ReferencedTag = Referenced<FlattenedTag>
export type ReferencedWebsite = Referenced<FlattenedWebsite>
export type ReferencedWorkstreamPatternEngineSourceWindow = Referenced<FlattenedWorkstreamPatternEngineSourceWindow>
export type ReferencedWorkstreamSummary = Referenced
export type ReferencedIdentifiedWorkstreamPatternEngineSource = Referenced
export type ReferencedConversationMessage = Referenced
export type ReferencedAnnotation = Referenced
export type ReferencedAnchor = Referenced
export type ReferencedPerson = Referenced

export type FlattenedTags = FlattenedCollection<ReferencedTag>
export type FlattenedWebsites = FlattenedCollection<ReferencedWebsite>
export type FlattenedWorkstreamPatternEngineSourceWindows = FlattenedCollection<ReferencedWorkstreamPatternEngineSourceWindow>
export type FlattenedWorkstreamSummaries = FlattenedCollection<ReferencedWorkstreamSummary>
export type FlattenedIdentifiedWorkstreamPatternEngineSources = FlattenedCollection<ReferencedIdentifiedWorkstreamPatternEngineSource>
export type FlattenedConversationMessages = FlattenedCollection<ReferencedConversationMessage>
export type FlattenedAnnotations = FlattenedCollection<ReferencedAnnotation>
export type FlattenedAnchors = FlattenedCollection<ReferencedAnchor>
export type FlattenedPersons = FlattenedCollection<ReferencedPerson>

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
