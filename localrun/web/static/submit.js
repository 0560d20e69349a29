// The submit form's cores menu: the estimator's options for the namelist.input chosen, each
// with its time and cost (from /ui/estimate.json, the same estimate as the API's).
"use strict";

function caseNamelist(input) {
  for (const file of input.files || []) {
    const path = (file.webkitRelativePath || file.name).split("/").filter(Boolean);
    if (path.length <= 2 && path[path.length - 1] === "namelist.input") return file;
  }
  return null;
}

function fill(select, options) {
  const kept = select.value;
  const choices = options.filter((o) => o.valid).map((o) => {
    const item = document.createElement("option");
    item.value = String(o.cores);
    item.textContent = `${o.cores} cores · ${o.time} · cost ${o.cost}` +
      (o.recommended ? " (recommended)" : "");
    item.selected = kept ? item.value === kept : o.recommended;
    return item;
  });
  select.replaceChildren(...choices);
}

function estimate(form, file) {
  const hint = document.getElementById("cores-hint");
  const csrf = form.querySelector('input[name="csrf"]').value;
  file.text()
    .then((text) => fetch("/ui/estimate.json", {
      method: "POST", body: text, credentials: "same-origin",
      headers: {"Content-Type": "text/plain", "X-CSRF-Token": csrf}}))
    .then((r) => r.json().then((body) => ({ok: r.ok, body})))
    .then(({ok, body}) => {
      if (!ok) { hint.textContent = body.error.message; hint.classList.add("bad"); return; }
      hint.classList.remove("bad");
      hint.textContent = "Estimated from " + file.name + ".";
      fill(document.getElementById("cores"), body.options);
      form.dataset.estimated = "1";
    })
    .catch(() => { hint.textContent = "The estimate did not load; the recommended cores are used."; });
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("submit-form");
  if (!form) return;
  for (const id of ["folder", "files"]) {
    document.getElementById(id).addEventListener("change", (event) => {
      const file = caseNamelist(event.target);
      if (file) estimate(form, file);
    });
  }
});
