// Live updates without reloading: the runs list from /ui/live (server-sent events), or by
// polling /ui/runs.json where EventSource fails; a live run's page re-reads itself.
"use strict";

function cell(className, child) {
  const td = document.createElement("td");
  td.className = className;
  if (typeof child === "string") td.textContent = child; else if (child) td.append(...child);
  return td;
}

function row(run) {
  const tr = document.createElement("tr");
  tr.dataset.id = run.id;
  const link = document.createElement("a");
  link.href = "/ui/runs/" + encodeURIComponent(run.id);
  link.textContent = run.name;
  const badge = document.createElement("span");
  badge.className = "badge " + run.state_class;
  badge.textContent = run.state;
  const bar = document.createElement("progress");
  bar.max = 100;
  bar.value = run.percent;
  const percent = document.createElement("span");
  percent.className = "percent";
  percent.textContent = run.percent + "%";
  tr.append(
    cell("name", [link]), cell("state", [badge]), cell("progress", [bar, " ", percent]),
    cell("left", run.remaining), cell("elapsed", run.elapsed), cell("cores", String(run.cores)),
    cell("family", run.family), cell("created", run.created_at));
  return tr;
}

function show(runs) {
  const body = document.querySelector("#runs tbody");
  body.replaceChildren(...runs.map(row));
  document.getElementById("empty").hidden = runs.length > 0;
}

function poll(query) {
  const tick = () => fetch("/ui/runs.json?" + query, {credentials: "same-origin"})
    .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
    .then((body) => show(body.runs))
    .catch(() => {});
  setInterval(tick, 3000);
}

function liveList() {
  const query = document.getElementById("runs").dataset.query || "";
  if (!window.EventSource) return poll(query);
  const source = new EventSource("/ui/live?" + query);
  let opened = false;
  source.onopen = () => { opened = true; };
  source.onmessage = (event) => show(JSON.parse(event.data).runs);
  source.onerror = () => {
    if (!opened) { source.close(); poll(query); }
  };
}

function liveRun() {
  const refresh = () => fetch(location.href, {credentials: "same-origin"})
    .then((r) => (r.ok ? r.text() : Promise.reject(r.status)))
    .then((html) => {
      const page = new DOMParser().parseFromString(html, "text/html");
      const open = document.querySelector("details.stop[open]");
      document.getElementById("main").replaceWith(page.getElementById("main"));
      if (open) document.querySelector("details.stop")?.setAttribute("open", "");
      if (page.body.dataset.live !== "1") { document.body.dataset.live = "0"; return; }
      setTimeout(refresh, 2000);
    })
    .catch(() => setTimeout(refresh, 5000));
  setTimeout(refresh, 2000);
}

document.addEventListener("DOMContentLoaded", () => {
  if (document.body.dataset.page === "runs") liveList();
  if (document.body.dataset.page === "run" && document.body.dataset.live === "1") liveRun();
});
