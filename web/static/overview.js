// Auto-refresh of the overview: re-fetches the counts and matrix every 20 s with the same
// query string, swaps them in place (scroll position and focus in the filter form survive),
// and pauses while the tab is hidden. Without JavaScript the page is a normal GET form.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.fetch) { return; }
  var note = document.getElementById("live-note");
  var stamp = document.getElementById("updated");
  var PERIOD = 20000;
  var timer = null;
  if (note) { note.hidden = false; }

  function refresh() {
    if (document.hidden) { return; }
    var url = live.getAttribute("data-src") + window.location.search;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (resp) {
        if (resp.redirected || !resp.ok) { throw new Error("refresh failed: " + resp.status); }
        return resp.text();
      })
      .then(function (html) {
        var x = window.scrollX, y = window.scrollY;
        var wrap = live.querySelector(".table-wrap");
        var inner = wrap ? wrap.scrollLeft : 0;
        live.innerHTML = html;
        var wrap2 = live.querySelector(".table-wrap");
        if (wrap2) { wrap2.scrollLeft = inner; }
        window.scrollTo(x, y);
        if (stamp) {
          var now = new Date();
          stamp.textContent = now.toISOString().substring(11, 19) + " UTC";
          stamp.setAttribute("datetime", now.toISOString());
        }
        live.setAttribute("data-refreshed", String(Date.now()));
      })
      .catch(function () { /* keep the last good view; try again next period */ });
  }

  function start() { if (!timer) { timer = window.setInterval(refresh, PERIOD); } }
  function stop() { if (timer) { window.clearInterval(timer); timer = null; } }
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { stop(); } else { refresh(); start(); }
  });
  window.auditorRefresh = refresh;
  start();
})();
