// laborbridge console: small progressive enhancement. Every page works without it.
//  - [data-poll]: follow a placement run through the JSON API (the session cookie signs the
//    requests), update stage and progress, and reload the page when the run ends.
//  - form[data-busy]: disable the submit button while a slow form (upload, run) is sent.
"use strict";

(function () {
  function stageNames(root) {
    var names = {};
    var tpl = root.querySelector("template#stage-names");
    if (tpl) {
      tpl.content.querySelectorAll("[data-stage]").forEach(function (el) {
        names[el.getAttribute("data-stage")] = el.textContent;
      });
    }
    return names;
  }

  function follow(box) {
    var url = box.getAttribute("data-poll");
    var endStates = (box.getAttribute("data-reload-when") || "").split(" ");
    var names = stageNames(box);
    var field = function (name) { return box.querySelector('[data-field="' + name + '"]'); };
    var delay = 800;

    function show(s) {
      var stage = s.stage || (s.status === "queued" ? "queued" : "");
      if (field("stage") && stage) { field("stage").textContent = names[stage] || stage; }
      var p = s.progress || {};
      if (field("count")) {
        field("count").textContent = p.total ? p.done.toLocaleString() + " / " + p.total.toLocaleString() : "";
      }
      if (field("bar")) {
        if (p.total) { field("bar").value = Math.round((100 * p.done) / p.total); }
        else { field("bar").removeAttribute("value"); }
      }
      var list = field("stages");
      if (list && s.stages_done) {
        list.textContent = "";
        s.stages_done.forEach(function (d) {
          var li = document.createElement("li");
          li.className = "done";
          li.textContent = names[d] || d;
          list.appendChild(li);
        });
      }
    }

    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (s) {
          if (endStates.indexOf(s.status) >= 0) { window.location.reload(); return; }
          show(s);
          setTimeout(tick, delay);
        })
        .catch(function () { setTimeout(tick, 4000); });
    }
    setTimeout(tick, delay);
  }

  function busy(form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) {
        // after the browser has read the form, so the button's own value is still sent
        setTimeout(function () { b.disabled = true; }, 0);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll]").forEach(follow);
    document.querySelectorAll("form[data-busy]").forEach(busy);
  });
})();
