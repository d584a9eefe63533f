// CyberCover pages: a little plain JavaScript (vendored, no CDN).
// 1. Every <time datetime> gets the visitor's local time as its title (dates show in UTC).
// 2. <body data-refresh="N"> reloads the page every N seconds (status pages while an outage is ongoing).
(function () {
  "use strict";
  function localTimes(root) {
    (root || document).querySelectorAll("time[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (!isNaN(d.getTime())) el.title = "Local time: " + d.toLocaleString();
    });
  }
  window.cybercover = { localTimes: localTimes };
  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    var every = parseInt(document.body.getAttribute("data-refresh") || "0", 10);
    if (every > 0) setTimeout(function () { window.location.reload(); }, every * 1000);
  });
})();
