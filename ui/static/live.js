// Live updates: the server sends `update` over server-sent events whenever a run changes;
// the page then fetches itself again and swaps its <main> in place (no framework, no build).
(function () {
  // Only for a signed-in reader (the layout says so): the login page has nothing to follow.
  if (!window.EventSource || document.body.dataset.live !== "true") return;
  var status = document.getElementById("live-status");
  var busy = false, again = false;
  function refresh() {
    if (busy) { again = true; return; }
    if (document.activeElement && document.activeElement.tagName === "INPUT") return;
    busy = true;
    fetch(location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("live"), here = document.getElementById("live");
        if (fresh && here) here.innerHTML = fresh.innerHTML;
        if (status) status.textContent = "Live · updated " + new Date().toLocaleTimeString();
      })
      .finally(function () { busy = false; if (again) { again = false; refresh(); } });
  }
  // A refused connection (503: the server's live-update clients are at their cap; 401: the
  // session ended) closes the source for good; try again in a minute, the page as loaded.
  function connect() {
    var source = new EventSource("/api/events");
    source.addEventListener("update", refresh);
    source.onopen = function () { if (status) status.textContent = "Live"; };
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) {
        if (status) status.textContent = "Live updates paused (the server refused them); retrying in a minute";
        setTimeout(connect, 60000);
      } else if (status) {
        status.textContent = "Reconnecting…";
      }
    };
  }
  connect();
})();
