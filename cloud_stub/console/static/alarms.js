// The alarms page, live: the server says "alarms" on an EventSource whenever the retailer's alarms change,
// and the list reloads itself in place (htmx, on the "alarms-changed" event). Without EventSource the list's
// own htmx polling stays the way it learns of news.
(function () {
  "use strict";
  var list = document.getElementById("alarm-list");
  if (!list || !window.EventSource) { return; }
  var source = new EventSource(list.getAttribute("data-stream"));
  source.addEventListener("alarms", function () {
    document.body.dispatchEvent(new CustomEvent("alarms-changed"));
  });
  source.addEventListener("open", function () { document.body.setAttribute("data-live", "yes"); });
  source.addEventListener("error", function () { document.body.setAttribute("data-live", "no"); });
})();
