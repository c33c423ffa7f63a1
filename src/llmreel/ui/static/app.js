// The inspector's router: the part of the URL after "#" names the page and its filters,
// so every view can be bookmarked, shared, and reached with Back and Forward.

import { api } from "./api.js";
import { browse } from "./browse.js";
import { h, clear, typing } from "./dom.js";
import { live } from "./live.js";
import { recording } from "./recording.js";
import { usage } from "./usage.js";

const view = document.getElementById("view");
const state = { info: null, current: null, lastList: "#/" };

function parse() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = raw.split("?");
  return { path, params: new URLSearchParams(query) };
}

function mark(page) {
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.page === page) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

async function route() {
  const { path, params } = parse();
  let page = "browse";
  let render;
  if (path.startsWith("/r/")) {
    page = "recording";
    const id = decodeURIComponent(path.slice(3));
    render = () => recording(view, id, params, state);
  } else if (path === "/usage") {
    page = "usage";
    render = () => usage(view, params);
  } else if (path === "/live") {
    page = "live";
    render = () => live(view, state);
  } else {
    state.lastList = location.hash || "#/";
    // The list keeps its form (and the focus in it) when only the filters changed.
    if (state.current && state.current.page === "browse" && state.current.update) {
      state.current.update(params);
      return;
    }
    render = () => browse(view, params, state);
  }
  mark(page);
  if (state.current && state.current.stop) state.current.stop();
  clear(view);
  try {
    state.current = (await render()) || { page };
    state.current.page = page;
  } catch (err) {
    clear(view).append(h("p", { class: "error", role: "alert" }, String(err.message || err)));
    state.current = { page };
  }
}

function keys(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const help = document.getElementById("help");
  if (event.key === "?" && !typing(event)) {
    toggleHelp();
    event.preventDefault();
    return;
  }
  if (event.key === "Escape") {
    if (!help.hidden) {
      toggleHelp(false);
      return;
    }
    if (!typing(event) && state.current && state.current.page === "recording") {
      location.hash = state.lastList;
      return;
    }
  }
  if (typing(event)) return;
  const go = { b: "#/", u: "#/usage", l: "#/live" }[event.key];
  if (go) {
    location.hash = go === "#/" ? state.lastList : go;
    event.preventDefault();
    return;
  }
  if (state.current && state.current.key && state.current.key(event)) event.preventDefault();
}

function toggleHelp(show) {
  const help = document.getElementById("help");
  const button = document.getElementById("help-button");
  help.hidden = show === undefined ? !help.hidden : !show;
  button.setAttribute("aria-expanded", String(!help.hidden));
}

async function start() {
  document.getElementById("help-button").addEventListener("click", () => toggleHelp());
  document.addEventListener("keydown", keys);
  window.addEventListener("hashchange", route);
  try {
    state.info = await api("info");
    document.getElementById("where").textContent = state.info.dir;
  } catch (err) {
    state.info = { live: false, dir: "" };
  }
  await route();
}

start();
