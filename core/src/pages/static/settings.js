// Rotation settings page: loads the saved values from the API, saves them as JSON, and shows
// each field's error next to the field. Served as a file so the CSP needs no inline script.
"use strict";
(function () {
  const API = "/api/settings/rotation";
  const form = document.getElementById("rotation-form");
  const status = document.getElementById("status");
  const inputs = () => Array.from(form.querySelectorAll("[data-key]"));

  function fill(settings) {
    for (const input of inputs()) {
      const value = settings[input.dataset.key];
      if (value !== undefined) input.value = String(value);
    }
  }

  function clearErrors() {
    for (const slot of form.querySelectorAll(".field-error")) slot.textContent = "";
  }

  // Integers go as numbers; anything else goes as typed, so the server names the bad field.
  function collect() {
    const body = {};
    for (const input of inputs()) {
      const raw = input.value.trim();
      const isInt = input.dataset.type === "int" && /^-?\d+$/.test(raw);
      body[input.dataset.key] = isInt ? Number(raw) : raw;
    }
    return body;
  }

  async function load() {
    const response = await fetch(API, { headers: { Accept: "application/json" } });
    if (response.ok) fill(await response.json());
    else status.textContent = "Could not load settings (" + response.status + ")";
    form.dataset.loaded = "true";
  }

  async function save(event) {
    event.preventDefault();
    clearErrors();
    form.dataset.saved = "pending";
    status.textContent = "Saving…";
    const response = await fetch(API, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(collect()),
    });
    const data = await response.json().catch(() => ({}));
    if (response.ok) {
      fill(data);
      status.textContent = "Saved";
      form.dataset.saved = "true";
      return;
    }
    for (const error of data.errors || []) {
      const slot = document.getElementById("error-" + error.field);
      if (slot) slot.textContent = error.message;
    }
    status.textContent = "Not saved: " + (data.error || response.status);
    form.dataset.saved = "false";
  }

  form.addEventListener("submit", save);
  load();
})();
