// A small chart drawer for the dashboards: reads {type: "line"|"bar", labels, series:
// [{name, values}], money} from the page's JSON and draws an SVG. No library, no network.
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var COLOURS = ["#1f6fb2", "#e07b00", "#2e9e44", "#c0392b", "#7d4cb4", "#7f6a00", "#008b8b"];
  var W = 900, H = 320, L = 70, R = 10, T = 10, B = 60;

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    for (var key in attrs) node.setAttribute(key, attrs[key]);
    if (parent) parent.appendChild(node);
    return node;
  }

  function short(value, money) {
    var abs = Math.abs(value), text;
    if (abs >= 1e12) text = (value / 1e12).toFixed(1) + " T";
    else if (abs >= 1e9) text = (value / 1e9).toFixed(1) + " M";
    else if (abs >= 1e6) text = (value / 1e6).toFixed(1) + " jt";
    else if (abs >= 1e3) text = (value / 1e3).toFixed(1) + " rb";
    else text = String(Math.round(value * 10) / 10);
    return (money ? "Rp" : "") + text.replace(".", ",");
  }

  function draw(figure, data) {
    var labels = data.labels || [], series = data.series || [];
    if (!labels.length || !series.length) return;
    var max = 0;
    series.forEach(function (s) { s.values.forEach(function (v) { if (v > max) max = v; }); });
    if (max === 0) max = 1;
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, role: "img" });
    var plotW = W - L - R, plotH = H - T - B;
    var y = function (v) { return T + plotH - (v / max) * plotH; };
    for (var i = 0; i <= 4; i++) {
      var v = (max * i) / 4;
      el("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#ddd" }, svg);
      el("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 11 }, svg).textContent = short(v, data.money);
    }
    var step = plotW / labels.length, every = Math.max(1, Math.ceil(labels.length / 12));
    labels.forEach(function (label, i) {
      if (i % every) return;
      var x = L + step * (i + 0.5);
      el("text", { x: x, y: H - B + 16, "text-anchor": "end", "font-size": 11, transform: "rotate(-30 " + x + " " + (H - B + 16) + ")" }, svg).textContent = label;
    });
    series.forEach(function (s, k) {
      var colour = COLOURS[k % COLOURS.length];
      if (data.type === "bar") {
        var width = (step * 0.8) / series.length;
        s.values.forEach(function (v, i) {
          var rect = el("rect", { x: L + step * i + step * 0.1 + width * k, y: y(v), width: Math.max(width, 1), height: T + plotH - y(v), fill: colour }, svg);
          el("title", {}, rect).textContent = s.name + " — " + labels[i] + ": " + v;
        });
      } else {
        var points = s.values.map(function (v, i) { return (L + step * (i + 0.5)) + "," + y(v); });
        el("polyline", { points: points.join(" "), fill: "none", stroke: colour, "stroke-width": 2 }, svg);
      }
    });
    figure.appendChild(svg);
    var legend = document.createElement("figcaption");
    legend.className = "legend";
    series.forEach(function (s, k) {
      var item = document.createElement("span");
      item.style.setProperty("--swatch", COLOURS[k % COLOURS.length]);
      item.textContent = s.name;
      legend.appendChild(item);
    });
    figure.appendChild(legend);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("figure.dash-chart").forEach(function (figure) {
      var source = document.getElementById(figure.getAttribute("data-source"));
      if (source) draw(figure, JSON.parse(source.textContent));
    });
  });
})();
