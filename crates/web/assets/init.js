// Loaded at the end of <body> as <script type="module" src="/assets/init.js">.
// Replaces GOV.UK's inline body script, which the Content-Security-Policy forbids.
import { initAll } from '/assets/govuk-frontend.min.js'

document.body.classList.add('js-enabled')
if ('noModule' in HTMLScriptElement.prototype) {
  document.body.classList.add('govuk-frontend-supported')
}

initAll()
