// The stream timeline: one mark per event on a time axis, the wait for the first event
// shaded, stalls in red; drawn as inline SVG (no library, no external asset).

import { h, s, secs, num, size } from "./dom.js";

const W = 900;
const H = 170;
const PAD = { left: 46, right: 16, top: 18, bottom: 36 };

function ticks(max, n) {
  if (max <= 0) return [0];
  const raw = max / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((v) => v >= raw) || raw;
  const out = [];
  for (let v = 0; v <= max + step / 1000; v += step) out.push(v);
  return out;
}

export function stats(tl) {
  const parts = [`${num(tl.events)} events${tl.done ? ", then [DONE]" : ""}`];
  if (tl.timed) {
    parts.push(`first event after ${secs(tl.first_event_s)}`);
    parts.push(`${secs(tl.duration_s)} in all`);
    if (tl.events_per_s) parts.push(`${tl.events_per_s.toFixed(1)} events/s`);
    if (tl.median_gap_s !== null) parts.push(`median gap ${secs(tl.median_gap_s)}`);
    if (tl.max_gap_s !== null) parts.push(`longest gap ${secs(tl.max_gap_s)}`);
    parts.push(tl.stalls.length ? `${tl.stalls.length} stall(s) over ${secs(tl.stall_threshold_s)}` : "no stalls");
  } else {
    parts.push("arrival times not recorded (events spaced evenly)");
  }
  if (!tl.complete) parts.push(`incomplete: ${tl.error || "cut short"}`);
  return parts;
}

export function chart(tl) {
  const pts = tl.points;
  const timed = tl.timed;
  const end = timed ? Math.max(tl.duration_s || 0, 1e-3) : Math.max(pts.length - 1, 1);
  const x = (v) => PAD.left + (v / end) * (W - PAD.left - PAD.right);
  const base = H - PAD.bottom;
  const maxBytes = Math.max(1, ...pts.map((p) => p.bytes));
  const bar = (b) => 8 + (Math.log1p(b) / Math.log1p(maxBytes)) * (base - PAD.top - 8);
  const svg = s("svg", {
    viewBox: `0 0 ${W} ${H}`,
    class: "timeline",
    role: "img",
    "aria-label": `Stream timeline: ${stats(tl).join(", ")}`,
  });
  svg.append(s("line", { x1: PAD.left, y1: base, x2: W - PAD.right, y2: base, class: "axis" }));
  for (const v of ticks(end, 6)) {
    svg.append(
      s("line", { x1: x(v), y1: base, x2: x(v), y2: base + 5, class: "axis" }),
      s("text", { x: x(v), y: base + 18, class: "tick", "text-anchor": "middle" }, timed ? secs(v) : `#${Math.round(v) + 1}`),
    );
  }
  svg.append(s("text", { x: W - PAD.right, y: H - 4, class: "tick", "text-anchor": "end" }, timed ? "time since the request was sent" : "event number (no times recorded)"));
  if (timed && tl.first_event_s > 0) {
    svg.append(
      s(
        "rect",
        { x: x(0), y: PAD.top, width: Math.max(1, x(tl.first_event_s) - x(0)), height: base - PAD.top, class: "ttfe" },
        s("title", null, `waiting for the first event: ${secs(tl.first_event_s)}`),
      ),
      s("text", { x: x(0) + 4, y: PAD.top + 12, class: "tick" }, `first event ${secs(tl.first_event_s)}`),
    );
  }
  for (const st of tl.stalls) {
    svg.append(
      s(
        "rect",
        { x: x(st.start), y: PAD.top, width: Math.max(2, x(st.start + st.gap) - x(st.start)), height: base - PAD.top, class: "stall" },
        s("title", null, `stall: ${secs(st.gap)} after event #${st.after + 1}`),
      ),
    );
  }
  let prev = null;
  pts.forEach((p, i) => {
    const at = timed ? p.t : i;
    const gap = prev === null ? p.t : p.t - prev;
    prev = p.t;
    const label = `#${i + 1} at ${secs(p.t)}${timed && i ? ` (+${secs(gap)})` : ""}, ${size(p.bytes)}${p.event ? `, event ${p.event}` : ""}${p.text ? `: ${p.text}` : ""}`;
    svg.append(
      s(
        "line",
        { x1: x(at), y1: base, x2: x(at), y2: base - bar(p.bytes), class: "ev", "data-i": i },
        s("title", null, label),
      ),
    );
  });
  if (tl.done && timed && tl.done_t !== null) {
    svg.append(s("line", { x1: x(tl.done_t), y1: base, x2: x(tl.done_t), y2: PAD.top, class: "done" }, s("title", null, `[DONE] at ${secs(tl.done_t)}`)));
  }
  return svg;
}

export function eventTable(tl) {
  let prev = null;
  const rows = tl.points.map((p, i) => {
    const gap = prev === null ? p.t : p.t - prev;
    prev = p.t;
    const stall = tl.stalls.some((st) => st.after + 1 === i);
    return h(
      "tr",
      { class: stall ? "stall-row" : null },
      h("td", null, String(i + 1)),
      h("td", null, tl.timed ? secs(p.t) : "-"),
      h("td", null, tl.timed ? `+${secs(gap)}` : "-"),
      h("td", null, size(p.bytes)),
      h("td", null, p.event || ""),
      h("td", null, h("span", { class: "piece" }, p.text)),
    );
  });
  return h(
    "table",
    { class: "events" },
    h("thead", null, h("tr", null, ["#", "at", "gap", "bytes", "event", "text"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", null, rows),
  );
}

export function timelineSection(tl) {
  return h(
    "section",
    { id: "timeline", class: "card", tabindex: "-1", "aria-labelledby": "timeline-h" },
    h("h2", { id: "timeline-h" }, "Stream timeline"),
    h("p", { id: "timeline-stats", class: "stats", "data-events": String(tl.events) }, stats(tl).join(" · ")),
    h("div", { class: "chart" }, chart(tl)),
    tl.truncated ? h("p", { class: "muted" }, `Only the first ${num(tl.points.length)} events are drawn.`) : null,
    h("details", null, h("summary", null, "Every event"), h("div", { class: "scroll" }, eventTable(tl))),
  );
}
