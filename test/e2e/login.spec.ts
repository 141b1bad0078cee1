// Signing in to a `vigil serve` that has a password: the page, a wrong password, the app, signing out.
import { expect, test } from '@playwright/test'
import { shootBothSchemes } from './support/screenshots'
import { startVigil, type VigilProcess } from './support/vigil-process'

const PASSWORD = 'e2e-Password-4d'
let vigil: VigilProcess
test.beforeAll(async () => {
  vigil = await startVigil([], 30_000, { VIGIL_PASSWORD: PASSWORD })
})
test.afterAll(async () => {
  expect(await vigil.stop()).toBe(0)
  expect(vigil.output()).not.toContain(PASSWORD)
})

test('sign in through the page, see the app, sign out, and get the login page again', async ({ page, context }) => {
  await page.goto(vigil.url)
  await expect(page).toHaveURL(`${vigil.url}/login`)
  await expect(page.getByRole('heading', { name: 'Sign in to Vigil' })).toBeVisible()
  const password = page.getByLabel('Password')
  await expect(password).toBeFocused()
  await shootBothSchemes(page, 'login')

  await password.fill('not the password')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByRole('alert')).toHaveText('Wrong password.')
  await shootBothSchemes(page, 'login-wrong-password')

  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page).toHaveURL(`${vigil.url}/`)
  await expect(page.getByRole('heading', { name: 'Welcome to Vigil' })).toBeVisible()
  // The event socket got through with the session cookie.
  await expect(page.getByRole('status').filter({ hasText: 'Connected' })).toBeVisible()
  const [cookie] = await context.cookies()
  expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', secure: false, path: '/' })
  expect(cookie!.name).toMatch(/^vigil_session_\d+$/)
  // With a password, the review inbox does not say it is open to this machine (reviews.spec.ts: without one, it does).
  await page.goto(`${vigil.url}/#/reviews`)
  await expect(page.getByRole('heading', { name: 'Reviews', exact: true })).toBeVisible()
  await page.waitForLoadState('networkidle')
  await expect(page.getByTestId('open-note')).toHaveCount(0)

  await page.goto(`${vigil.url}/logout`)
  await expect(page.getByText('You are signed in.')).toBeVisible()
  await shootBothSchemes(page, 'login-signed-in')
  await page.getByRole('button', { name: 'Sign out' }).click()
  await expect(page).toHaveURL(`${vigil.url}/login`)
  await expect(page.getByLabel('Password')).toBeVisible()
  expect(await context.cookies()).toEqual([])

  await page.goto(vigil.url)
  await expect(page).toHaveURL(`${vigil.url}/login`)
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible()
})

test('a session that ends while the app is open sends the page back to the login page', async ({ page }) => {
  await page.goto(`${vigil.url}/login`)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByRole('heading', { name: 'Welcome to Vigil' })).toBeVisible()
  // Signed out elsewhere (another tab, or expiry): the next API call gets 401.
  expect((await page.request.post(`${vigil.url}/api/logout`)).ok()).toBe(true)
  await page.getByRole('button', { name: /Try the demo/ }).click()
  await expect(page).toHaveURL(`${vigil.url}/login`)
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible()
})

test('too many wrong passwords get a clear wait message', async ({ page }) => {
  await page.goto(`${vigil.url}/login`)
  // One wrong attempt was made by the test above; four more reach the limit of five a minute.
  for (let i = 0; i < 4; i++) {
    await page.getByLabel('Password').fill(`wrong-${i}`)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect(page.getByRole('alert')).toHaveText('Wrong password.')
  }
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByRole('alert')).toHaveText(/^Too many attempts, try again in \d+ s\.$/)
  await shootBothSchemes(page, 'login-rate-limited')
})
