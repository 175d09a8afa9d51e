import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { createWorkstreamStore, type LogLevel } from '../../src/index'
import { App } from './App'
import { readDemoConfig } from './demoConfig'
import './styles.css'

const LOG_LEVELS: readonly LogLevel[] = ['off', 'error', 'warn', 'info', 'debug']

/** Starts the demo app in the page the demo server rendered. Add `?log=debug` to the URL to trace the store in the console. */
function main(): void {
  const config = readDemoConfig(document)
  const requested = new URLSearchParams(location.search).get('log')
  const store = createWorkstreamStore({
    baseUrl: config.apiUrl,
    pollIntervalMs: config.pollIntervalMs,
    retry: config.retry,
    logger: LOG_LEVELS.find((level) => level === requested) ?? 'off',
  })
  const container = document.getElementById('root')
  if (!container) throw new Error('The page has no #root element. Open the URL that "npm start" prints.')
  createRoot(container).render(
    <StrictMode>
      <App store={store} controlUrl={config.controlUrl} />
    </StrictMode>,
  )
}

main()
