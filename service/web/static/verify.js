// The auditor's page: sends a dropped, chosen or pasted file's bytes as they are (no re-encoding,
// so a changed byte stays changed) to the form's action and shows the HTML fragment it answers.
(function () {
  "use strict";
  function readInto(file, textarea) {
    var reader = new FileReader();
    reader.onload = function () {
      textarea.value = reader.result;
      textarea.loaded = { file: file, text: textarea.value };  // sent as the file itself while unedited
    };
    reader.readAsText(file);
  }
  function wireDrop(zone) {
    var target = document.getElementById(zone.getAttribute("data-drop"));
    zone.addEventListener("dragover", function (ev) { ev.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
    zone.addEventListener("drop", function (ev) {
      ev.preventDefault();
      zone.classList.remove("over");
      if (ev.dataTransfer && ev.dataTransfer.files.length) readInto(ev.dataTransfer.files[0], target);
    });
  }
  function wireFile(input) {
    var target = document.getElementById(input.getAttribute("data-file"));
    input.addEventListener("change", function () { if (input.files.length) readInto(input.files[0], target); });
  }
  function wireForm(form) {
    var out = document.getElementById(form.getAttribute("data-result"));
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var field = form.querySelector("[name=body]");
      var button = form.querySelector("button");
      button.disabled = true;
      out.innerHTML = "";  // the previous answer goes: what shows next is this check's
      out.setAttribute("aria-busy", "true");
      fetch(form.getAttribute("action"), {
        method: "POST",
        headers: { "Content-Type": "application/octet-stream" },
        body: !field ? "" : (field.loaded && field.loaded.text === field.value ? field.loaded.file : field.value)
      }).then(function (resp) { return resp.text(); }).then(function (html) {
        out.innerHTML = html;  // server-rendered, escaped by the templates
        if (window.cybercover) window.cybercover.localTimes(out);
      }).catch(function (err) {
        out.textContent = "The check could not be sent: " + err;
      }).then(function () {
        button.disabled = false;
        out.removeAttribute("aria-busy");
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-drop]").forEach(wireDrop);
    document.querySelectorAll("input[data-file]").forEach(wireFile);
    document.querySelectorAll("form[data-verify]").forEach(wireForm);
  });
})();
