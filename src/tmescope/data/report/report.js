/* tmescope report: clicking a sample in a figure opens its page. Sample links come from
   window.TMESCOPE_LINKS (sample ID -> relative page path), written into each page. */
(function () {
  "use strict";
  function attach() {
    var links = window.TMESCOPE_LINKS || {};
    var plots = document.querySelectorAll(".js-plotly-plot");
    Array.prototype.forEach.call(plots, function (gd) {
      if (typeof gd.on !== "function" || gd.dataset.tmescopeLinked) { return; }
      gd.dataset.tmescopeLinked = "1";
      gd.on("plotly_click", function (ev) {
        if (!ev || !ev.points || !ev.points.length) { return; }
        var p = ev.points[0];
        var id = (typeof p.customdata === "string") ? p.customdata : p.x;
        if (Object.prototype.hasOwnProperty.call(links, id)) { window.location.href = links[id]; }
      });
    });
  }
  if (document.readyState === "complete") { attach(); } else { window.addEventListener("load", attach); }
}());
