// The shell's layout switches, remembered in this browser: the sidebar folds away to give the page
// the whole width (e.g. at 1024 px).
const KEY = 'vigil.sidebar'

export class Layout {
  sidebarHidden = $state(readHidden())

  toggleSidebar(): void {
    this.sidebarHidden = !this.sidebarHidden
    try {
      localStorage.setItem(KEY, this.sidebarHidden ? 'hidden' : 'shown')
    } catch {
      // Storage off (private mode): the switch still works for this page.
    }
  }
}

function readHidden(): boolean {
  try {
    return localStorage.getItem(KEY) === 'hidden'
  } catch {
    return false
  }
}
