// Live: the server's journal as requests arrive (pushed over Server-Sent Events), and for
// a miss the closest recordings with the body diff, the changed words highlighted.

import { h, clear, recordingHref } from "./dom.js";

const KEEP = 500;

// "  name.json  (similarity 97.3%)" lines after "Closest recordings", the unified diff after
// "What differs from" (older servers: "Body diff against"), and "changed words: ... [-old-]
// {+new+}" lines: the miss explanation the engine writes (see llmreel.engine.misses).
export function parseMiss(text) {
  const out = { head: [], closest: [], diff: [], words: [], tail: [] };
  let part = "head";
  for (const line of String(text || "").split("\n")) {
    if (/^Closest recordings/.test(line)) {
      part = "closest";
      out.head.push(line);
      continue;
    }
    if (/^(What differs from|Body diff against) /.test(line)) {
      part = "diff";
      continue;
    }
    const words = line.match(/^\s*changed words: (.*)$/);
    if (words) {
      out.words.push(words[1]);
      continue;
    }
    if (part === "closest") {
      const m = line.match(/^\s+(\S.*?)\s+\(similarity ([\d.]+%)\)\s*$/);
      if (m) {
        out.closest.push({ name: m[1], similarity: m[2] });
        continue;
      }
      part = "tail";
    }
    if (part === "diff") {
      if (/^([-+ @]|\.\.\.)/.test(line) || line === "") {
        out.diff.push(line);
        continue;
      }
      part = "tail";
    }
    out[part === "head" ? "head" : "tail"].push(line);
  }
  return out;
}

export function markWords(line) {
  const out = [];
  const re = /\[-(.*?)-\]|\{\+(.*?)\+\}/g;
  let last = 0;
  let m;
  while ((m = re.exec(line)) !== null) {
    if (m.index > last) out.push(line.slice(last, m.index));
    out.push(m[1] !== undefined ? h("del", null, m[1]) : h("ins", null, m[2]));
    last = re.lastIndex;
  }
  if (last < line.length) out.push(line.slice(last));
  return out;
}

function diffClass(line) {
  if (line.startsWith("+++ ") || line.startsWith("--- ") || line.startsWith("@")) return "hunk";
  if (line.startsWith("+")) return "add";
  if (line.startsWith("-")) return "rem";
  return null;
}

function fileId(entry, name) {
  return !entry.cassette || entry.cassette === "." ? name : `${entry.cassette}/${name}`;
}

function missDetail(entry, open) {
  const m = parseMiss(entry.miss);
  return h(
    "details",
    { class: "miss", open: open || null },
    h("summary", null, "Why it missed"),
    m.head.length ? h("p", { class: "text" }, m.head[0]) : null,
    m.closest.length
      ? h("ol", { class: "closest" }, m.closest.map((c) => h("li", null, h("a", { href: recordingHref(fileId(entry, c.name)) }, c.name), ` (similarity ${c.similarity})`)))
      : null,
    m.words.length ? h("div", { class: "words" }, h("h4", null, "Changed words"), m.words.map((w) => h("p", { class: "changed" }, markWords(w)))) : null,
    m.diff.length
      ? h("pre", { class: "code diff" }, m.diff.map((line) => h("span", { class: diffClass(line) }, `${line}\n`)))
      : null,
    m.tail.length ? h("p", { class: "muted text" }, m.tail.join("\n")) : null,
  );
}

function entryRows(entry, newestMiss) {
  const file = entry.file ? h("a", { href: recordingHref(fileId(entry, entry.file)) }, entry.file) : "-";
  const time = (entry.time || "").replace(/^.*T/, "").replace("Z", "");
  const row = h(
    "tr",
    { class: `entry outcome-${String(entry.outcome).replace(/[^a-z-]/g, "")}`, "data-seq": String(entry.seq) },
    h("td", { "data-label": "#" }, String(entry.seq)),
    h("td", { "data-label": "Time" }, time),
    h("td", { "data-label": "Outcome" }, h("span", { class: "badge" }, entry.outcome), entry.fault ? h("span", { class: "badge fault" }, `fault ${entry.fault}`) : null),
    h("td", { "data-label": "Request" }, `${entry.method} ${entry.path}`),
    h("td", { "data-label": "Model" }, entry.model || "-"),
    h("td", { "data-label": "Status" }, String(entry.status)),
    h("td", { "data-label": "ms", class: "n" }, entry.duration_ms === null || entry.duration_ms === undefined ? "-" : entry.duration_ms.toFixed(1)),
    h("td", { "data-label": "Cassette" }, entry.cassette || "."),
    h("td", { "data-label": "File" }, file),
  );
  const rows = [row];
  if (entry.note && entry.outcome !== "miss") rows.push(h("tr", { class: "note" }, h("td", { colspan: 9, class: "muted" }, entry.note)));
  if (entry.miss) rows.push(h("tr", { class: "miss-row" }, h("td", { colspan: 9 }, missDetail(entry, newestMiss))));
  return rows;
}

export async function live(view, state) {
  view.append(h("h1", null, "Live traffic"));
  if (!state.info || !state.info.live) {
    view.append(
      h("p", null, "Live traffic is shown when the inspector runs inside ", h("code", null, "llmreel serve"), "; this one reads a directory only."),
      h("p", null, "Start ", h("code", null, "llmreel serve --dir DIR"), " and open ", h("code", null, "http://127.0.0.1:11434/_llmreel/ui/#/live"), "."),
    );
    return {};
  }
  const status = h("p", { id: "live-status", class: "count", role: "status" }, "Connecting…");
  const onlyProblems = h("input", { type: "checkbox", id: "live-problems" });
  const pause = h("button", { type: "button", id: "live-pause", "aria-pressed": "false" }, "Pause");
  const body = h("tbody", { id: "live-body" });
  view.append(
    h("p", { class: "controls" }, h("label", { for: "live-problems" }, onlyProblems, " only misses, faults and errors"), " ", pause),
    status,
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { id: "live-entries", class: "list live" },
        h("thead", null, h("tr", null, ["#", "Time", "Outcome", "Request", "Model", "Status", "ms", "Cassette", "File"].map((c) => h("th", { scope: "col" }, c)))),
        body,
      ),
    ),
  );
  let count = 0;
  let paused = false;
  const held = [];
  const problem = (e) => Boolean(e.fault) || !["hit", "recorded", "live", "synthesized"].includes(e.outcome);

  function show(entry) {
    if (onlyProblems.checked && !problem(entry)) return;
    if (entry.miss) for (const d of body.querySelectorAll("details.miss[open]")) d.open = false;
    const rows = entryRows(entry, Boolean(entry.miss));
    for (const r of rows.reverse()) body.prepend(r);
    while (body.querySelectorAll("tr.entry").length > KEEP) {
      const last = body.querySelector("tr.entry:last-of-type");
      while (body.lastChild && body.lastChild !== last) body.removeChild(body.lastChild);
      body.removeChild(last);
    }
  }

  const source = new EventSource("../journal/stream");
  source.addEventListener("open", () => {
    status.textContent = `Connected: ${count} request(s) so far`;
    status.dataset.state = "open";
  });
  source.addEventListener("error", () => {
    status.textContent = "Disconnected; reconnecting…";
    status.dataset.state = "closed";
  });
  source.addEventListener("entry", (msg) => {
    let entry;
    try {
      entry = JSON.parse(msg.data);
    } catch {
      return;
    }
    count += 1;
    status.textContent = `Connected: ${count} request(s) so far${paused ? ` (paused, ${held.length + 1} waiting)` : ""}`;
    if (paused) held.push(entry);
    else show(entry);
  });
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.textContent = paused ? "Resume" : "Pause";
    pause.setAttribute("aria-pressed", String(paused));
    if (!paused) while (held.length) show(held.shift());
  });
  onlyProblems.addEventListener("change", () => {
    for (const tr of body.querySelectorAll("tr.entry")) {
      const ok = !onlyProblems.checked || !/outcome-(hit|recorded|live|synthesized)\b/.test(tr.className);
      tr.hidden = !ok;
      let next = tr.nextElementSibling;
      while (next && !next.classList.contains("entry")) {
        next.hidden = !ok;
        next = next.nextElementSibling;
      }
    }
  });
  return {
    stop() {
      source.close();
    },
  };
}
