/** What the demo's web server tells the app, in a JSON script element of the page. */
export interface DemoAppConfig {
  /** The embedded server's base URL (another origin than the app's). */
  apiUrl: string
  /** The app's own endpoint that switches the server's fault mode. */
  controlUrl: string
  pollIntervalMs: number
  retry: { baseDelayMs: number; maxDelayMs: number; maxAttempts: number }
}

export const DEMO_CONFIG_ELEMENT_ID = 'demo-config'

/** Reads the config the page carries; throws with what to do when the page was not served by the demo. */
export function readDemoConfig(doc: Document): DemoAppConfig {
  const text = doc.getElementById(DEMO_CONFIG_ELEMENT_ID)?.textContent
  const config: unknown = text ? JSON.parse(text) : undefined
  if (!isDemoAppConfig(config)) {
    throw new Error(`The page has no valid #${DEMO_CONFIG_ELEMENT_ID} element. Open the URL that "npm start" prints.`)
  }
  return config
}

function isDemoAppConfig(value: unknown): value is DemoAppConfig {
  if (typeof value !== 'object' || value === null) return false
  const config = value as Partial<Record<keyof DemoAppConfig, unknown>>
  const retry = config.retry as Partial<Record<string, unknown>> | undefined
  return (
    typeof config.apiUrl === 'string' &&
    typeof config.controlUrl === 'string' &&
    typeof config.pollIntervalMs === 'number' &&
    typeof retry === 'object' &&
    retry !== null &&
    typeof retry.baseDelayMs === 'number' &&
    typeof retry.maxDelayMs === 'number' &&
    typeof retry.maxAttempts === 'number'
  )
}
