// Live updates that patch the page: the server sends `update` over server-sent events when
// a run changes; the page then asks for itself again with the hashes of the regions it has
// (`X-Warden-Regions`), and the server answers with only the regions that changed (JSON).
// Each is swapped in place; nothing else on the page is touched, so scroll positions, open
// forms and typed text survive. A region holding the focus or text being typed is left as
// it is until the next update. No framework, no build.
(function () {
  // Only for a signed-in reader (the layout says so): the login page has nothing to follow.
  if (!window.EventSource || !window.fetch || document.body.dataset.live !== "true") return;
  var status = document.getElementById("live-status");
  // Each region's content as the server sent it, with its hash: the base the server's
  // next edits apply to. Until the first update the page has no such copy, so that update
  // brings each changed region whole.
  var sources = {}, hashes = {};
  var zoneEl = document.querySelector("[data-tz]");
  var zone = zoneEl ? zoneEl.getAttribute("data-tz") : undefined;
  var busy = false, again = false;

  function clock() {
    try {
      return new Date().toLocaleTimeString("en-GB", { hour12: false, timeZone: zone, timeZoneName: "short" });
    } catch (e) {
      return new Date().toISOString().slice(11, 19) + " UTC";
    }
  }
  // Someone is using this part of the page: it has the focus or text typed into it.
  function inUse(el) {
    if (el.contains(document.activeElement) && document.activeElement !== document.body) return true;
    var fields = el.querySelectorAll("input, textarea, select");
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if (f.type === "hidden") continue;
      if (f.tagName === "SELECT" ? f.selectedIndex !== f.dataset.initial * 1 && f.dataset.initial !== undefined : f.value !== f.defaultValue) return true;
    }
    return false;
  }
  function swap(el, html) {
    // Keep what the reader opened or closed.
    var before = Array.prototype.map.call(el.querySelectorAll("details"), function (d) { return d.open; });
    el.innerHTML = html;
    var after = el.querySelectorAll("details");
    if (after.length === before.length) {
      for (var i = 0; i < after.length; i++) after[i].open = before[i];
    }
  }
  function regionsHeader() {
    return Object.keys(hashes).map(function (k) { return k + "=" + hashes[k]; }).join(",");
  }
  // A region's new content: whole, or edits of the copy this page holds.
  function content(region) {
    if (typeof region.html === "string") return region.html;
    var old = sources[region.name];
    if (old === undefined || hashes[region.name] !== region.base) return null;
    var lines = old.match(/[^\n]*\n|[^\n]+$/g) || [];
    var out = "";
    for (var i = 0; i < region.ops.length; i++) {
      var op = region.ops[i];
      if (typeof op === "string") { out += op; continue; }
      if (op[0] + op[1] > lines.length) return null;
      out += lines.slice(op[0], op[0] + op[1]).join("");
    }
    return out;
  }
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { credentials: "same-origin", headers: { "X-Warden-Regions": regionsHeader() || "none" } })
      .then(function (r) {
        var type = r.headers.get("Content-Type") || "";
        return r.ok && type.indexOf("application/json") === 0 ? r.json() : null;
      })
      .then(function (patch) {
        if (!patch) return;
        var skipped = 0;
        var lost = false;
        patch.regions.forEach(function (region) {
          var el = document.querySelector('[data-region="' + region.name + '"]');
          if (!el) return;
          if (inUse(el)) { skipped++; return; }
          var html = content(region);
          if (html === null) { lost = true; delete hashes[region.name]; return; }
          swap(el, html);
          sources[region.name] = html;
          hashes[region.name] = region.hash;
        });
        // A copy out of step: the next update brings that region whole.
        if (lost) again = true;
        if (patch.title) document.title = patch.title;
        if (status) {
          status.textContent = "Live · updated " + clock() +
            (skipped ? " · " + skipped + " part(s) left as they are while you use them" : "");
        }
        document.body.dataset.liveUpdates = String((document.body.dataset.liveUpdates * 1 || 0) + 1);
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
  // A select's choice as loaded, to tell a reader's change from the page's own.
  Array.prototype.forEach.call(document.querySelectorAll("select"), function (s) { s.dataset.initial = s.selectedIndex; });
  connect();
})();
