// The inspector's JSON endpoints (relative URLs: the page works at / and at /_llmreel/ui/).

export async function get(path, params) {
  const qs = params ? `?${new URLSearchParams(params)}` : "";
  const resp = await fetch(`${path}${qs}`, { headers: { accept: "application/json" } });
  let doc = null;
  try {
    doc = await resp.json();
  } catch {
    throw new Error(`${path}: HTTP ${resp.status}, not JSON`);
  }
  if (!resp.ok) throw new Error(doc && doc.error ? doc.error : `${path}: HTTP ${resp.status}`);
  return doc;
}

export const api = (name, params) => get(`api/${name}`, params);
