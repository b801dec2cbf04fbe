/* Client-side search over the prebuilt index (search/index.js or search/index.json).
   No server, no libraries. Results are built with textContent, never innerHTML. */
(function () {
  "use strict";

  function normalize(text) {
    return String(text || "").toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
  }

  function tokens(text) {
    return normalize(text).split(/[^a-z0-9]+/).filter(function (t) { return t.length > 0; });
  }

  function prepare(entries) {
    return entries.map(function (entry) {
      var haystack = [entry.title, entry.journal, entry.design_label, entry.year,
        (entry.conditions || []).join(" "), (entry.interventions || []).join(" "),
        entry.key_finding, (entry.ids || []).join(" ")].join(" ");
      return { entry: entry, words: tokens(haystack) };
    });
  }

  function matches(item, queryTokens) {
    return queryTokens.every(function (q) {
      return item.words.some(function (w) { return w.indexOf(q) === 0; });
    });
  }

  function render(results, list, status, query) {
    while (list.firstChild) { list.removeChild(list.firstChild); }
    results.slice(0, 100).forEach(function (item) {
      var entry = item.entry;
      var li = document.createElement("li");
      var link = document.createElement("a");
      link.href = "../studies/" + encodeURIComponent(entry.slug) + "/";
      link.textContent = (entry.retracted ? "[Retracted] " : "") + entry.title;
      li.appendChild(link);
      var meta = document.createElement("span");
      meta.className = "muted";
      meta.textContent = " (" + [entry.design_label, entry.journal, entry.year]
        .filter(function (x) { return x; }).join(", ") + ")";
      li.appendChild(meta);
      list.appendChild(li);
    });
    if (!query) {
      status.textContent = "Type a word to search.";
    } else if (results.length === 0) {
      status.textContent = "No study matches \u201c" + query + "\u201d.";
    } else {
      status.textContent = results.length + (results.length === 1 ? " study matches" : " studies match") +
        " \u201c" + query + "\u201d" + (results.length > 100 ? " (first 100 shown)." : ".");
    }
  }

  function start(entries) {
    var input = document.getElementById("q");
    var list = document.getElementById("search-results");
    var status = document.getElementById("search-status");
    var form = input.form;
    var items = prepare(entries);

    function run() {
      var query = input.value.trim();
      var queryTokens = tokens(query);
      var results = queryTokens.length ? items.filter(function (i) { return matches(i, queryTokens); }) : [];
      render(results, list, status, query);
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var url = new URL(window.location.href);
      url.searchParams.set("q", input.value.trim());
      window.history.replaceState(null, "", url.toString());
      run();
    });
    input.addEventListener("input", run);
    var initial = new URLSearchParams(window.location.search).get("q");
    if (initial) { input.value = initial; }
    run();
  }

  function load() {
    if (Array.isArray(window.digestSearchIndex)) {
      start(window.digestSearchIndex);
      return;
    }
    fetch("index.json").then(function (response) { return response.json(); }).then(start)
      .catch(function () {
        document.getElementById("search-status").textContent = "The search index could not be loaded.";
      });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", load);
  } else {
    load();
  }
})();
