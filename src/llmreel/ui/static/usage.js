// Usage: tokens by model and endpoint, added up from the recorded usage fields.

import { api } from "./api.js";
import { h, num } from "./dom.js";

const NUMBERS = [
  ["recordings", "Recordings"],
  ["with_usage", "With usage"],
  ["in", "Input tokens"],
  ["out", "Output tokens"],
  ["total", "Total tokens"],
];

function grid(id, first, rows, total) {
  const head = h("tr", null, first.map(([, label]) => h("th", { scope: "col" }, label)), NUMBERS.map(([, label]) => h("th", { scope: "col", class: "n" }, label)));
  const line = (r, cls) => h("tr", { class: cls }, first.map(([k, label]) => h("td", { "data-label": label }, r[k] || "-")), NUMBERS.map(([k, label]) => h("td", { class: "n", "data-label": label }, num(r[k]))));
  return h(
    "table",
    { id, class: "list usage" },
    h("thead", null, head),
    h("tbody", null, rows.map((r) => line(r))),
    total ? h("tfoot", null, line({ ...total, [first[0][0]]: "All" }, "total")) : null,
  );
}

export async function usage(view, params) {
  const facets = await api("facets");
  const cassette = params.get("cassette") || "";
  const pick = h("select", { id: "u-cassette" }, h("option", { value: "" }, "every folder"), facets.cassette.map((c) => h("option", { value: c.value }, `${c.value} (${c.count})`)));
  pick.value = cassette;
  pick.addEventListener("change", () => {
    location.hash = pick.value ? `#/usage?cassette=${encodeURIComponent(pick.value)}` : "#/usage";
  });
  const doc = await api("usage", cassette ? { cassette } : {});
  view.append(
    h("h1", null, "Token usage"),
    h("p", null, h("label", { for: "u-cassette" }, "Folder "), pick),
    h("p", { class: "muted" }, `From the usage fields the recordings hold: ${num(doc.total.with_usage)} of ${num(doc.total.recordings)} recordings have one.`),
    h("h2", null, "By model"),
    h("div", { class: "scroll" }, grid("usage-models", [["model", "Model"]], doc.models, doc.total)),
    h("h2", null, "By model and endpoint"),
    h("div", { class: "scroll" }, grid("usage-groups", [["model", "Model"], ["endpoint", "Endpoint"]], doc.groups, null)),
  );
  return {};
}
