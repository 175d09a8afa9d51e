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

/** The application an event came from (`ApplicationNameEnum` in the official client). Pieces OS adds names over time. */
export type ApplicationName = OpenEnum<
  | 'UNKNOWN' | 'SUBLIME' | 'VS_CODE' | 'JETBRAINS' | 'FIREFOX_ADDON_MV2' | 'FIREFOX_ADDON_MV3'
  | 'SAFARI_EXTENSION_MV2' | 'SAFARI_EXTENSION_MV3' | 'PIECES_FOR_DEVELOPERS' | 'PIECES_FOR_DEVELOPERS_CLI'
  | 'OS_SERVER' | 'GOOGLE_CHROME_EXTENSION_MV2' | 'GOOGLE_CHROME_EXTENSION_MV3' | 'ULTRA_EDIT' | 'ATOM_PACKAGE'
  | 'ADOBE_ILLUSTRATOR_PIECES_COLOR_SHARE' | 'MICROSOFT_TEAMS' | 'CHAT_GPT' | 'OBSIDIAN' | 'JUPYTER_HUB'
  | 'VISUAL_STUDIO' | 'MICROSOFT_EDGE' | 'BRAVE' | 'GOOGLE_CHAT' | 'SLACK' | 'AZURE_DATA_STUDIO' | 'OPEN_SOURCE'
  | 'R_STUDIO' | 'VIM' | 'NOTION' | 'GITHUB_DESKTOP' | 'RAYCAST' | 'REPLIT' | 'ALFRED' | 'FIGMA' | 'SKETCH'
  | 'ADOBE_ILLUSTRATOR' | 'NOTEPAD_PLUS_PLUS' | 'EMBEETLE' | 'ECLIPSE' | 'X_CODE' | 'NETBEANS' | 'OPERA'
>
/** The operating system an application runs on (`PlatformEnum`). */
export type Platform = OpenEnum<'UNKNOWN' | 'WEB' | 'MACOS' | 'LINUX' | 'WINDOWS' | 'FUCHSIA' | 'IOS' | 'ANDROID'>
/** What Pieces OS may collect from an application (`PrivacyEnum`): `OPEN`, `CLOSED` (private), or `ANONYMOUS` (collected, but not tied to the user). */
export type Privacy = OpenEnum<'UNKNOWN' | 'OPEN' | 'CLOSED' | 'ANONYMOUS'>
/** Where machine-learning work may run (`CapabilitiesEnum`): on the device, in the cloud, or both. */
export type Capabilities = OpenEnum<'UNKNOWN' | 'LOCAL' | 'CLOUD' | 'BLENDED'>
/** How something came into Pieces OS (`MechanismEnum`): `MANUAL` by the user, `RECOMMENDED` from a suggestion the user took, `AUTOMATIC` without the user. */
export type Mechanism = OpenEnum<'UNKNOWN' | 'MANUAL' | 'RECOMMENDED' | 'AUTOMATIC' | 'INTERNAL' | 'DELETED' | 'EXTERNAL_AGENT'>
/** The API version a model was written for (`EmbeddedModelSchemaSemanticVersionEnum`). */
export type SchemaSemanticVersion = OpenEnum<'UNKNOWN' | 'MAJOR_0_MINOR_0_PATCH_1'>

/** The version stamp Pieces OS puts on its models as `schema`: the database `migration` and the API's `semantic` version. Passed through as it came. */
export interface EmbeddedModelSchema {
  migration: number
  semantic: SchemaSemanticVersion
}

/**
 * A point in time as Pieces OS sends it. `value` stays an ISO 8601 string here, where the
 * official `GroupedTimestampFromJSON` makes a `Date`; `readable` is an optional display form.
 */
export interface GroupedTimestamp {
  schema?: EmbeddedModelSchema
  /** An ISO 8601 date-time string. */
  value: string
  readable?: string
}

/** Activity points Pieces OS keeps for a model: `manual` from user-driven events, `automatic` from automatic ones, and optional counters. */
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

/** Which action produced the event. The flags are snake_case on the wire: `check_in` is `checkIn` in the official model, and so on. */
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

/** The application that produced an event (an IDE, a browser extension, the desktop app...), as registered with Pieces OS; `id` is its device-level id. */
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
/** Whether an anchor is a `FILE` or a `DIRECTORY` (`AnchorTypeEnum`). */
export type AnchorType = OpenEnum<'UNKNOWN' | 'FILE' | 'DIRECTORY'>
/** The category of a tag (`TagCategoryEnum`), such as a `HANDLE` or an `EMAIL`. */
export type TagCategory = OpenEnum<'UNKNOWN' | 'HANDLE' | 'EMAIL'>
/** The broad kind of some content (`ClassificationGenericEnum`); `EXTERNAL_RESOURCE_REFERENCE` is a URL, URI or path. */
export type ClassificationGeneric = OpenEnum<
  'UNKNOWN' | 'CODE' | 'TEXT' | 'IMAGE' | 'VIDEO' | 'EXTERNAL_RESOURCE_REFERENCE' | 'FILE'
>
/** A file extension such as `ts` or `py` (the official enum lists about 500 of them). */
export type ClassificationSpecific = OpenEnum<'UNKNOWN' | 'ts' | 'js' | 'py' | 'md' | 'json' | 'html' | 'css' | 'txt'>
/** How content is rendered, when it is more than plain text (`ClassificationRenderingEnum`). */
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
  /** `base64Url` in the official model. */
  base64_url?: string
  /** `dataUrl` in the official model. */
  data_url?: string
}

/** What some content is: its `generic` kind, its `specific` type (a file extension) and, optionally, its `rendering`. */
export interface Classification {
  schema?: EmbeddedModelSchema
  generic: ClassificationGeneric
  specific: ClassificationSpecific
  rendering?: ClassificationRendering
}

/** A list of classifications, such as the languages of a project module. */
export type Classifications = ModelList<Classification>

/**
 * A span of time: `from` and `to` for a range, only `to` for anything before, only `from` for
 * anything after. On a tab or a module it is how long the user has been on it.
 */
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

/** A website by `url` and `name`, optionally tied to an asset, a conversation or a person by id; in a browser tab, the page it shows. */
export interface SeededWebsite {
  schema?: EmbeddedModelSchema
  asset?: string
  conversation?: string
  url: string
  name: string
  mechanism?: Mechanism
  person?: string
}

/** A tab open in an IDE: its file (`anchor`), language (`classification`), optionally its content (`value`), how long it was open (`range`), and whether it is the active one (`current`). */
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

/** The tabs of an IDE. */
export type IDETabs = ModelList<IDETab>

/** A repository or module open in an IDE: its folder (`anchor`), how long the user has worked on it (`range`) and its languages (`classifications`). */
export interface ProjectModule {
  schema?: EmbeddedModelSchema
  anchor: SeededAnchor
  range?: AnonymousTemporalRange
  contributors?: UnmodelledObject
  classifications?: Classifications
}

/** The repositories or modules open in an IDE. */
export type ProjectModules = ModelList<ProjectModule>

/** Text or code selected, copied or pasted in a browser, with its classification. */
export interface BrowserSelection {
  schema?: EmbeddedModelSchema
  classification: Classification
  value: TransferableString
}

/** A browser tab's content in one form (`html`, `md` or `text`; Pieces OS prefers `md`), or a code block (`snippet`) or `selection` from it. */
export interface BrowserTabValue {
  schema?: EmbeddedModelSchema
  html?: TransferableString
  md?: TransferableString
  text?: TransferableString
  snippet?: BrowserSelection
  selection?: BrowserSelection
}

/** The content forms of one browser tab. */
export type BrowserTabValues = ModelList<BrowserTabValue>

/** A browser tab: its content (`values`), its page (`website`, or `anchor` for a local file), how long it was open (`range`), and whether it is the active one (`current`). */
export interface BrowserTab {
  schema?: EmbeddedModelSchema
  values?: BrowserTabValues
  anchor?: SeededAnchor
  website?: SeededWebsite
  range?: AnonymousTemporalRange
  current?: boolean
  contributors?: UnmodelledObject
}

/** The tabs of a browser. */
export type BrowserTabs = ModelList<BrowserTab>

/** An event's IDE context (`context.ide`): the open `tabs`, the open repositories or `modules`, and the workspace `name`. */
export interface WorkstreamEventTriggerContextIDE {
  schema?: EmbeddedModelSchema
  tabs?: IDETabs
  modules?: ProjectModules
  name?: string
}

/** An event's browser context (`context.browser`): the open `tabs`. */
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
  /** `nativeOcr` in the official model. */
  native_ocr?: NativeOCR
  accessibility?: NativeAccessibility
}

/**
 * A tag in Pieces OS, its references to other models stopped at ids. The wire keys
 * `workstream_events` and `source_windows` are `workstreamEvents` and `sourceWindows` in the
 * official model.
 */
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
  /** `workstreamEvents` in the official model. */
  workstream_events?: FlattenedReferences
  messages?: FlattenedReferences
  annotations?: FlattenedReferences
  tagsVector?: number[]
  /** `sourceWindows` in the official model. */
  source_windows?: FlattenedReferences
  websites?: FlattenedReferences
  anchors?: FlattenedReferences
}

/**
 * A website Pieces OS knows, its references to other models stopped at ids. The wire keys
 * `workstream_events` and `source_windows` are `workstreamEvents` and `sourceWindows` in the
 * official model.
 */
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
  /** `workstreamEvents` in the official model. */
  workstream_events?: FlattenedReferences
  sources?: FlattenedReferences
  /** `sourceWindows` in the official model. */
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
  /** `workstreamEvents` in the official model. */
  workstream_events?: FlattenedReferences
  websites?: FlattenedReferences
  tags?: FlattenedReferences
}

/** A reference to a tag; `reference` holds the tag when the server includes it. */
export type ReferencedTag = Referenced<FlattenedTag>
/** A reference to a website; `reference` holds the website when the server includes it. */
export type ReferencedWebsite = Referenced<FlattenedWebsite>
/** A reference to a source window; `reference` holds the window when the server includes it. */
export type ReferencedWorkstreamPatternEngineSourceWindow = Referenced<FlattenedWorkstreamPatternEngineSourceWindow>
/** A reference to a workstream summary. Its body is only checked for `id`. */
export type ReferencedWorkstreamSummary = Referenced
/** A reference to a source that Pieces OS identified events from. Its body is only checked for `id`. */
export type ReferencedIdentifiedWorkstreamPatternEngineSource = Referenced
/** A reference to a conversation message. Its body is only checked for `id`. */
export type ReferencedConversationMessage = Referenced
/** A reference to an annotation. Its body is only checked for `id`. */
export type ReferencedAnnotation = Referenced
/** A reference to an anchor (a file or directory). Its body is only checked for `id`. */
export type ReferencedAnchor = Referenced
/** A reference to a person. Its body is only checked for `id`. */
export type ReferencedPerson = Referenced

/** A model's tags, as references. */
export type FlattenedTags = FlattenedCollection<ReferencedTag>
/** A model's websites, as references. */
export type FlattenedWebsites = FlattenedCollection<ReferencedWebsite>
/** A model's source windows, as references. */
export type FlattenedWorkstreamPatternEngineSourceWindows = FlattenedCollection<ReferencedWorkstreamPatternEngineSourceWindow>
/** A model's workstream summaries, as references. */
export type FlattenedWorkstreamSummaries = FlattenedCollection<ReferencedWorkstreamSummary>
/** A model's identified sources, as references. */
export type FlattenedIdentifiedWorkstreamPatternEngineSources = FlattenedCollection<ReferencedIdentifiedWorkstreamPatternEngineSource>
/** A model's conversation messages, as references. */
export type FlattenedConversationMessages = FlattenedCollection<ReferencedConversationMessage>
/** A model's annotations, as references. */
export type FlattenedAnnotations = FlattenedCollection<ReferencedAnnotation>
/** A model's anchors (files and directories), as references. */
export type FlattenedAnchors = FlattenedCollection<ReferencedAnchor>
/** A model's persons, as references. */
export type FlattenedPersons = FlattenedCollection<ReferencedPerson>

/**
 * One workstream event, as the server sends it.
 *
 * What is validated: strictly, what identifies, orders and displays the event (`id`,
 * `application`, `created`, `updated`, `trigger`, `schema`, `score` and the top-level strings
 * and vector); only the shape of the deep graphs (`context` is an object, and each collection
 * an `iterable` of objects with a string `id`). Fields inside those graphs may be missing or
 * of another type, whatever the official models say, so read them defensively.
 */
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
  /** `sourceWindows` in the official model. */
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
  /** `internalIdentifier` in the official model. The created event takes this id. */
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
