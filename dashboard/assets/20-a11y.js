/* Accessibility repairs to third-party widgets (dash_table, Dash's dropdown), applied as they render:
   - a table that scrolls sideways can be reached and scrolled with the keyboard (tabindex, a name);
   - dash_table's paging buttons are icons only: they get names;
   - Dash's dropdown keeps a read-only focus target inside an aria-hidden wrapper: take it out of the tab order
     (the dropdown's own button stays focusable). */
(function () {
  var PAGING = {"first-page": "First page", "previous-page": "Previous page", "next-page": "Next page",
                "last-page": "Last page"};
  // Each region needs a name of its own (axe: landmark-unique): the table's id when the page gave one (Dash's
  // own are "table-<random>"), else its parent's, else "table"; a repeated name gets a number.
  function tableName(el) {
    var owner = el.closest(".dash-table-container");
    var id = owner && owner.id && !/^table-/.test(owner.id) ? owner.id :
             (owner && owner.parentElement && owner.parentElement.id) || "";
    var base = "table" + (id ? " " + id.replace(/-/g, " ") : ""), name = base, n = 1;
    while (document.querySelector('.dash-spreadsheet-container[aria-label="' + name + '"]')) { n += 1; name = base + " " + n; }
    return name;
  }
  function repair(root) {
    root.querySelectorAll(".dash-spreadsheet-container").forEach(function (el) {
      if (!el.hasAttribute("tabindex")) {
        el.setAttribute("tabindex", "0");
        el.setAttribute("role", "region");
        el.setAttribute("aria-label", tableName(el));
      }
    });
    Object.keys(PAGING).forEach(function (cls) {
      root.querySelectorAll(".previous-next-container ." + cls).forEach(function (b) {
        if (!b.getAttribute("aria-label")) { b.setAttribute("aria-label", PAGING[cls]); }
      });
    });
    root.querySelectorAll("[aria-hidden='true'] .dash-dropdown-focus-target, .dash-dropdown-focus-target[aria-hidden='true']")
      .forEach(function (el) { el.setAttribute("tabindex", "-1"); });
  }
  var queued = false;
  new MutationObserver(function () {
    if (queued) { return; }
    queued = true;
    window.requestAnimationFrame(function () { queued = false; repair(document); });
  }).observe(document.documentElement, {childList: true, subtree: true});
})();
