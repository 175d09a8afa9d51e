import { DEMO_CONFIG_ELEMENT_ID, type DemoAppConfig } from './app/demoConfig'

/** The demo's HTML page: the config for the app, the style sheet and the script. */
export function renderAppPage(config: DemoAppConfig): string {
  // "<" escaped, so that no value can close the script element early.
  const json = JSON.stringify(config).replace(/</g, '\\u003c')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>workstream-sync demo</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/app.css">
<script id="${DEMO_CONFIG_ELEMENT_ID}" type="application/json">${json}</script>
<script type="module" src="/app.js"></script>
</head>
<body>
<div id="root"><noscript>The demo needs JavaScript.</noscript></div>
</body>
</html>
`
}
