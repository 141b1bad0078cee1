// The /login page: self-contained HTML (inline styles are allowed by the CSP, scripts are not, so it is a
// plain form POST answered by a redirect). Light and dark follow the system.

export type LoginPageState =
  | { kind: 'form'; error?: string }
  /** Already signed in: offer the app and a way out. */
  | { kind: 'signed-in' }

const LOGO = `<svg class="logo" viewBox="0 0 1024 1024" aria-hidden="true"><rect x="32" y="32" width="960" height="960" rx="210" fill="#1c2740"/><path d="M168 512c96-160 208-240 344-240s248 80 344 240c-96 160-208 240-344 240S264 672 168 512z" fill="none" stroke="#6ea8ff" stroke-width="56" stroke-linejoin="round"/><circle cx="512" cy="512" r="112" fill="#4cc38a"/></svg>`

const FAVICON = `data:image/svg+xml,${encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1024 1024"><rect x="32" y="32" width="960" height="960" rx="210" fill="#1c2740"/><circle cx="512" cy="512" r="112" fill="#4cc38a"/></svg>')}`

const STYLE = `
:root { color-scheme: light dark; --bg:#f6f7f9; --surface:#fff; --border:#dfe3ea; --text:#1b1f27; --text-2:#5b6472;
  --accent:#2f6fed; --accent-text:#fff; --error:#b42318; --error-bg:#fbe9e9; }
@media (prefers-color-scheme: dark) { :root { --bg:#111318; --surface:#181b21; --border:#2b303a; --text:#e4e7ec;
  --text-2:#a3abb8; --accent:#6ea8ff; --accent-text:#0b1220; --error:#f59a9a; --error-bg:#3a1d1f; } }
* { box-sizing: border-box; }
html, body { height: 100%; margin: 0; }
body { display: grid; place-items: center; padding: 24px; background: var(--bg); color: var(--text);
  font: 14px/1.5 system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif; }
main { width: 100%; max-width: 380px; background: var(--surface); border: 1px solid var(--border);
  border-radius: 10px; padding: 28px 28px 24px; }
header { display: flex; align-items: center; gap: 10px; margin-bottom: 18px; }
.logo { width: 32px; height: 32px; }
h1 { font-size: 18px; font-weight: 600; margin: 0; }
p { margin: 0 0 16px; color: var(--text-2); }
label { display: block; font-weight: 500; margin-bottom: 6px; }
input[type=password] { width: 100%; font: inherit; color: inherit; background: var(--bg); padding: 8px 10px;
  border: 1px solid var(--border); border-radius: 6px; }
input[type=password]:focus-visible, button:focus-visible, a:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
button, .button { display: inline-block; width: 100%; margin-top: 16px; padding: 8px 12px; font: inherit; font-weight: 600;
  text-align: center; text-decoration: none; color: var(--accent-text); background: var(--accent); border: 0;
  border-radius: 6px; cursor: pointer; }
p + .button { margin-top: 0; }
button.secondary { color: var(--text); background: transparent; border: 1px solid var(--border); margin-top: 10px; }
.error { margin: 0 0 14px; padding: 8px 10px; border-radius: 6px; color: var(--error); background: var(--error-bg); }
.hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
`

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function body(state: LoginPageState): string {
  if (state.kind === 'signed-in') {
    return `<p>You are signed in.</p>
<a class="button" href="/">Open Vigil</a>
<form method="post" action="/api/logout"><button type="submit" class="secondary">Sign out</button></form>`
  }
  const error = state.error ? `<p class="error" role="alert">${escapeHtml(state.error)}</p>` : ''
  return `<p>This Vigil is protected by a password.</p>
${error}<form method="post" action="/api/login">
<input class="hidden" type="text" name="username" value="vigil" autocomplete="username" tabindex="-1" aria-hidden="true" readonly>
<label for="password">Password</label>
<input id="password" type="password" name="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form>`
}

export function renderLoginPage(state: LoginPageState): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<link rel="icon" href="${FAVICON}">
<title>Sign in · Vigil</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<header>${LOGO}<h1>${state.kind === 'signed-in' ? 'Vigil' : 'Sign in to Vigil'}</h1></header>
${body(state)}
</main>
</body>
</html>
`
}
