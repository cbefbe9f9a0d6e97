/* Admin page accessibility (issue 22), for what its components cannot be told in Python:
   - dcc.Upload's file input has no label: it gets the drop zone's sentence as its name;
   - dbc.Progress's bar has no name: it gets one; so do the tables' page buttons (arrows only);
   - Dash's dropdown puts keyboard focus on an aria-hidden input (axe: aria-hidden-focus): the
     focus goes to the dropdown's own button instead, which opens the list with Enter or Space. */
(function () {
  function fix() {
    var upload = document.querySelector('#admin-upload input[type=file]');
    if (upload && !upload.hasAttribute('aria-label')) {
      upload.setAttribute('aria-label', 'CSV file of prices to import for the chosen ticker');
    }
    var bar = document.querySelector('#admin-progress .progress-bar');
    if (bar && !bar.hasAttribute('aria-label')) { bar.setAttribute('aria-label', 'Run progress'); }
    var pages = {'first-page': 'First page', 'previous-page': 'Previous page', 'next-page': 'Next page',
                 'last-page': 'Last page'};
    document.querySelectorAll('[id^="admin-"] .previous-next-container button').forEach(function (b) {
      Object.keys(pages).forEach(function (cls) {
        if (b.classList.contains(cls) && b.getAttribute('aria-label') !== pages[cls]) { b.setAttribute('aria-label', pages[cls]); }
      });
    });
    document.querySelectorAll('.dash-dropdown-wrapper').forEach(function (w) {
      var button = w.querySelector(':scope > button[id^="admin-"]');
      var proxy = w.querySelector(':scope > .dash-dropdown-focus-target');
      if (button && proxy && proxy.getAttribute('tabindex') !== '-1') {
        proxy.setAttribute('tabindex', '-1');
        button.setAttribute('tabindex', '0');
      }
    });
  }
  new MutationObserver(fix).observe(document.documentElement, {subtree: true, childList: true, attributes: true,
                                                               attributeFilter: ['tabindex', 'class']});
  document.addEventListener('DOMContentLoaded', fix);
})();
