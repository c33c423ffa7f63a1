// One recording as a person reads it: the conversation, the answer (streams put back
// together), parameters, usage, the timeline, and the raw file one click away.

import { api } from "./api.js";
import { h, size, date, num, pretty } from "./dom.js";
import { timelineSection } from "./timeline.js";

function facts(pairs) {
  return h(
    "dl",
    { class: "facts" },
    pairs.filter(([, v]) => v !== null && v !== undefined && v !== "").map(([k, v]) => [h("dt", null, k), h("dd", null, v)]),
  );
}

function value(v) {
  return typeof v === "string" ? v : JSON.stringify(v);
}

function messages(list) {
  if (!list.length) return h("p", { class: "muted" }, "No messages in this request.");
  return h(
    "ol",
    { class: "messages" },
    list.map((m) => h("li", { class: `msg role-${String(m.role).replace(/[^a-z_]/gi, "")}` }, h("span", { class: "role" }, m.role), h("div", { class: "text" }, m.content))),
  );
}

function answer(sm) {
  const parts = [];
  if (sm.error) parts.push(h("p", { class: "error", id: "answer-error" }, h("strong", null, "Error: "), sm.error));
  if (sm.reasoning) parts.push(h("details", { class: "reasoning" }, h("summary", null, "Reasoning"), h("div", { class: "text" }, sm.reasoning)));
  parts.push(h("div", { id: "answer", class: "text answer" }, sm.text || ""));
  if (!sm.text && !sm.tool_calls.length && !sm.error) parts.push(h("p", { class: "muted" }, "No text in this answer."));
  for (const c of sm.tool_calls) {
    parts.push(h("div", { class: "tool-call" }, h("span", { class: "role" }, "tool call"), h("code", null, `${c.name}(${c.arguments})`), c.id ? h("span", { class: "muted" }, ` id ${c.id}`) : null));
  }
  for (const line of sm.extra || []) parts.push(h("p", { class: "muted" }, line));
  return parts;
}

function table(obj) {
  const entries = Object.entries(obj || {});
  if (!entries.length) return h("p", { class: "muted" }, "None.");
  return h("table", { class: "kv" }, h("tbody", null, entries.map(([k, v]) => h("tr", null, h("th", { scope: "row" }, k), h("td", null, h("code", null, value(v)))))));
}

function raw(doc) {
  const req = doc.request ? pretty(doc.request) : "";
  const resp = doc.response ? pretty(doc.response) : "";
  return h(
    "section",
    { id: "raw", class: "card", hidden: true, tabindex: "-1", "aria-labelledby": "raw-h" },
    h("h2", { id: "raw-h" }, "Raw request and response"),
    doc.request ? [h("h3", null, "Request (as recorded, credentials redacted)"), h("pre", { class: "code" }, req)] : null,
    doc.response ? [h("h3", null, "Response (stream events are in the file below and the timeline)"), h("pre", { class: "code" }, resp)] : null,
    h("h3", null, `The file (${size(doc.raw_size)}${doc.raw_truncated ? ", beginning only" : ""})`),
    h("pre", { class: "code", id: "raw-file" }, doc.raw),
    h("p", null, h("a", { href: `api/raw?id=${encodeURIComponent(doc.row.id)}`, target: "_blank", rel: "noopener" }, "Open the file as text")),
  );
}

export async function recording(view, id, params, state) {
  const doc = await api("recording", { id });
  const row = doc.row;
  const sm = doc.summary;
  const back = h("a", { href: state.lastList, class: "back" }, "‹ Recordings");
  const rawButton = h("button", { type: "button", id: "raw-toggle", "aria-controls": "raw", "aria-expanded": "false" }, "Raw request and response (r)");
  const title = row.method ? `${row.method} ${row.endpoint}` : row.file;
  view.append(back, h("h1", null, title));
  const meta = facts([
    ["Model", row.model || "-"],
    ["Format", row.format],
    ["Status", sm ? `${sm.status}${sm.complete ? "" : " (incomplete)"}` : null],
    ["Streamed", sm ? (sm.streamed ? `yes, ${num(row.events)} events${doc.timeline && doc.timeline.done ? " and [DONE]" : ""}` : "no") : null],
    ["Finish", sm && sm.finish_reason],
    ["Recorded", `${date(row.recorded)}${row.recorded_from === "file" ? " (file date)" : ""}`],
    ["Test", doc.test],
    ["File", h("code", { id: "file-path" }, doc.path)],
    ["Key", doc.key ? h("code", null, doc.key) : null],
    ["Position", doc.key ? String(doc.position) : null],
    ["In this file", doc.interactions_in_file > 1 ? `interaction ${row.index + 1} of ${doc.interactions_in_file}` : null],
    ["Normalizers", doc.normalizers && doc.normalizers.length ? doc.normalizers.join(", ") : null],
  ]);
  view.append(meta, h("p", null, rawButton));
  const rawSection = raw(doc);
  if (doc.error) {
    view.append(h("p", { class: "error", role: "alert" }, `This file cannot be read: ${doc.error}`), rawSection);
    rawSection.hidden = false;
    return { key: () => false };
  }
  const sections = [
    h("section", { class: "card", "aria-labelledby": "conv-h" }, h("h2", { id: "conv-h" }, "Conversation"), messages(sm.messages)),
    h("section", { class: "card", "aria-labelledby": "ans-h" }, h("h2", { id: "ans-h" }, "Answer"), answer(sm)),
  ];
  if (doc.timeline) sections.push(timelineSection(doc.timeline));
  sections.push(
    h("section", { class: "card half", "aria-labelledby": "par-h" }, h("h2", { id: "par-h" }, "Parameters"), table(sm.params)),
    h("section", { class: "card half", "aria-labelledby": "use-h" }, h("h2", { id: "use-h" }, "Usage"), table(sm.usage)),
  );
  view.append(h("div", { class: "sections" }, sections), rawSection);
  const toggle = () => {
    rawSection.hidden = !rawSection.hidden;
    rawButton.setAttribute("aria-expanded", String(!rawSection.hidden));
    if (!rawSection.hidden) rawSection.focus();
  };
  rawButton.addEventListener("click", toggle);
  return {
    key(event) {
      if (event.key === "r") return toggle(), true;
      if (event.key === "t") {
        const tl = document.getElementById("timeline");
        if (tl) tl.focus();
        return Boolean(tl);
      }
      return false;
    },
  };
}
