// Browse: every recording under DIR, filtered, searched, sorted and paged by the server's
// index (the page only ever holds one page of rows).

import { api } from "./api.js";
import { h, clear, size, date, num, recordingHref } from "./dom.js";

const PAGE = 100;
const FILTERS = ["q", "endpoint", "model", "format", "cassette", "test", "streamed", "errors", "since", "until"];
const COLUMNS = [
  ["endpoint", "Endpoint"],
  ["model", "Model"],
  ["file", "Prompt and file"],
  ["test", "Test"],
  ["streamed", "Stream"],
  ["events", "Events"],
  ["size", "Size"],
  ["recorded", "Recorded"],
];

function select(name, label, options, value) {
  const el = h(
    "select",
    { id: `f-${name}`, name },
    h("option", { value: "" }, "any"),
    options.map((o) => h("option", { value: o.value }, o.count === undefined ? o.label : `${o.value} (${o.count})`)),
  );
  el.value = value || "";
  return h("label", { for: `f-${name}` }, h("span", null, label), el);
}

function input(name, label, type, value, extra) {
  const el = h("input", { id: `f-${name}`, name, type, value: value || "", ...extra });
  return h("label", { for: `f-${name}` }, h("span", null, label), el);
}

export async function browse(view, params, state) {
  const facets = await api("facets");
  const flags = [
    { value: "yes", label: "yes" },
    { value: "no", label: "no" },
  ];
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter recordings" },
    input("q", "Search prompts and answers", "search", params.get("q"), {
      placeholder: "words to find (press /)",
      autocomplete: "off",
      class: "wide",
    }),
    select("endpoint", "Endpoint", facets.endpoint, params.get("endpoint")),
    select("model", "Model", facets.model, params.get("model")),
    select("format", "Format", facets.format, params.get("format")),
    select("cassette", "Folder", facets.cassette, params.get("cassette")),
    input("test", "Test contains", "text", params.get("test"), { autocomplete: "off" }),
    select("streamed", "Streamed", flags, params.get("streamed")),
    select("errors", "Errors", flags, params.get("errors")),
    input("since", "Recorded from", "date", params.get("since")),
    input("until", "to", "date", params.get("until")),
    h("button", { type: "reset", class: "quiet" }, "Clear"),
  );
  const count = h("p", { id: "count", class: "count", role: "status", "aria-live": "polite" });
  const head = h("tr");
  const body = h("tbody");
  const table = h("table", { id: "results", class: "list" }, h("thead", null, head), body);
  const pager = h("nav", { class: "pager", "aria-label": "Pages of results" });
  const notes = [];
  if (facets.unreadable) notes.push(`${facets.unreadable} unreadable file(s) are listed with the reason (run \`llmreel check\`).`);
  if (facets.skipped.length) notes.push(`${facets.skipped.length} link(s) pointing outside the directory were left out.`);
  view.append(h("h1", null, "Recordings"), form);
  if (notes.length) view.append(h("p", { class: "muted" }, notes.join(" ")));
  view.append(
    count,
    h("div", { class: "scroll" }, table),
    pager,
  );

  let current = params;
  let selected = -1;
  let ticket = 0;
  let typingTimer = null;

  function hashFor(changes) {
    const next = new URLSearchParams(current);
    for (const [k, v] of Object.entries(changes)) {
      if (v === "" || v === null || v === undefined) next.delete(k);
      else next.set(k, v);
    }
    const qs = next.toString();
    return qs ? `#/?${qs}` : "#/";
  }

  function fromForm() {
    const changes = { offset: "" };
    for (const name of FILTERS) changes[name] = form.elements[name].value.trim();
    location.hash = hashFor(changes);
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    fromForm();
  });
  form.addEventListener("change", (e) => {
    if (e.target.name !== "q" && e.target.name !== "test") fromForm();
  });
  form.addEventListener("input", (e) => {
    if (e.target.name !== "q" && e.target.name !== "test") return;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(fromForm, 250);
  });
  form.addEventListener("reset", (e) => {
    e.preventDefault();
    location.hash = "#/";
  });

  function drawHead() {
    clear(head);
    const sort = current.get("sort") || "file";
    for (const [col, label] of COLUMNS) {
      const active = sort.replace(/^-/, "") === col;
      const desc = active && sort.startsWith("-");
      const next = active && !desc ? `-${col}` : col;
      head.append(
        h(
          "th",
          { scope: "col", class: `c-${label.split(" ")[0].toLowerCase()}`, "aria-sort": active ? (desc ? "descending" : "ascending") : null },
          h("a", { href: hashFor({ sort: next === "file" ? "" : next, offset: "" }), class: "sort" }, label, active ? (desc ? " ▼" : " ▲") : ""),
        ),
      );
    }
  }

  function cell(label, ...content) {
    return h("td", { "data-label": label, class: `c-${label.toLowerCase()}` }, ...content);
  }

  function drawRows(rows) {
    clear(body);
    for (const r of rows) {
      const what = r.method ? `${r.method} ${r.endpoint}` : "unreadable";
      body.append(
        h(
          "tr",
          { class: r.error ? "has-error" : null, "data-id": r.id },
          cell("Endpoint", h("a", { href: recordingHref(r.id), class: "open" }, what)),
          cell("Model", r.model || "-"),
          cell(
            "Prompt",
            h("span", { class: "preview" }, r.preview || r.error || ""),
            h("code", { class: "file" }, r.file + (r.index ? ` #${r.index}` : "")),
          ),
          cell("Test", h("span", { class: "test", title: r.test || null }, r.test || "-")),
          cell("Stream", r.streamed ? "yes" : "no", r.complete ? null : h("span", { class: "cut", title: "the response was cut short" }, "cut")),
          cell("Events", r.streamed ? num(r.events) : "-"),
          cell("Size", size(r.size)),
          cell("Recorded", h("span", { title: r.recorded_from === "file" ? "file modification time" : "recorded at" }, date(r.recorded).slice(0, 16))),
        ),
      );
    }
    if (!rows.length) body.append(h("tr", null, h("td", { colspan: COLUMNS.length, class: "muted" }, "No recording matches these filters.")));
  }

  function drawPager(total, offset) {
    clear(pager);
    const last = Math.max(0, Math.floor((total - 1) / PAGE) * PAGE);
    const prev = h("a", { href: hashFor({ offset: offset - PAGE > 0 ? offset - PAGE : "" }), class: "button", rel: "prev", "aria-disabled": offset <= 0 ? "true" : null }, "‹ Previous");
    const next = h("a", { href: hashFor({ offset: offset + PAGE }), class: "button", rel: "next", "aria-disabled": offset >= last ? "true" : null }, "Next ›");
    pager.append(prev, h("span", null, total ? `${num(offset + 1)}–${num(Math.min(total, offset + PAGE))} of ${num(total)}` : "0 of 0"), next);
  }

  async function load(p) {
    current = p;
    const mine = ++ticket;
    const query = { limit: PAGE };
    for (const name of [...FILTERS, "sort", "offset"]) if (p.get(name)) query[name] = p.get(name);
    count.textContent = "Searching…";
    let doc;
    try {
      doc = await api("recordings", query);
    } catch (err) {
      if (mine === ticket) count.textContent = `Error: ${err.message}`;
      return;
    }
    if (mine !== ticket) return;
    selected = -1;
    drawHead();
    drawRows(doc.rows);
    drawPager(doc.total, doc.offset);
    const filtered = FILTERS.some((n) => p.get(n));
    count.textContent = filtered
      ? `${num(doc.total)} of ${num(facets.total)} recordings match (${doc.took_ms} ms)`
      : `${num(doc.total)} recordings in ${num(facets.files)} files (${doc.took_ms} ms)`;
    count.dataset.total = String(doc.total);
  }

  function syncForm(p) {
    for (const name of FILTERS) {
      const el = form.elements[name];
      if (el && document.activeElement !== el) el.value = p.get(name) || "";
    }
  }

  function pick(step) {
    const links = body.querySelectorAll("a.open");
    if (!links.length) return;
    selected = Math.max(0, Math.min(links.length - 1, selected + step));
    for (const tr of body.querySelectorAll("tr.selected")) tr.classList.remove("selected");
    links[selected].closest("tr").classList.add("selected");
    links[selected].focus();
  }

  function key(event) {
    if (event.key === "/") {
      form.elements.q.focus();
      form.elements.q.select();
      return true;
    }
    if (event.key === "j") return pick(1), true;
    if (event.key === "k") return pick(-1), true;
    if (event.key === "Enter" && selected >= 0) {
      const link = body.querySelectorAll("a.open")[selected];
      if (link && document.activeElement !== link) location.hash = link.getAttribute("href");
      return false;
    }
    if (event.key === "]" || event.key === "[") {
      const link = pager.querySelector(event.key === "]" ? "a[rel=next]" : "a[rel=prev]");
      if (link && link.getAttribute("aria-disabled") !== "true") location.hash = link.getAttribute("href");
      return true;
    }
    return false;
  }

  drawHead();
  await load(params);
  return {
    update(p) {
      syncForm(p);
      load(p);
    },
    key,
    stop() {
      clearTimeout(typingTimer);
    },
  };
}
