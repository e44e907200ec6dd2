// The only script of the app besides htmx: a notice for failures that have nothing better
// to show, the phone menu, table labels for stacked rows, and keyboard suggestion lists.
(function () {
  "use strict";
  function notice(text) {
    var box = document.getElementById("notice");
    if (!box) { return; }
    box.textContent = text;
    box.hidden = false;
    clearTimeout(box._timer);
    box._timer = setTimeout(function () { box.hidden = true; }, 12000);
  }
  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    var type = xhr.getResponseHeader("Content-Type") || "";
    var text = type.indexOf("text/plain") === 0 && xhr.responseText
      ? xhr.responseText
      : "No se pudo completar la acción (error " + xhr.status + "). Intenta de nuevo.";
    if (type.indexOf("text/html") === 0 && xhr.responseText.indexOf("error-panel") !== -1) {
      // A 403 panel (auth.views.forbidden): show its sentence, not markup.
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      text = doc.body.textContent.trim() || text;
    }
    notice(text);
  });
  // A live check re-renders dependent selects with the values sent a moment ago. If the
  // person chose another option meanwhile (and the server did not set one on purpose),
  // keep that newer choice when it is still offered.
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var fragment = evt.detail.fragment;
    if (!fragment || !fragment.querySelectorAll) { return; }
    var selects = fragment.querySelectorAll("select[data-sent]:not([data-server-set])");
    Array.prototype.forEach.call(selects, function (incoming) {
      var current = document.getElementById(incoming.id);
      if (!current || current.value === incoming.getAttribute("data-sent")) { return; }
      var wanted = current.value;
      var offered = Array.prototype.some.call(incoming.options, function (o) {
        return o.value === wanted;
      });
      if (!offered) { return; }
      Array.prototype.forEach.call(incoming.options, function (o) {
        o.selected = o.value === wanted;
        if (o.selected) { o.setAttribute("selected", ""); } else { o.removeAttribute("selected"); }
      });
    });
  });
  document.addEventListener("htmx:sendError", function () {
    notice("No hay conexión con apunto-fact. ¿Sigue abierta la ventana donde se inició?");
  });
  document.addEventListener("click", function (evt) {
    if (evt.target && evt.target.id === "notice") { evt.target.hidden = true; }
    // Autocomplete pick lists: put the chosen key in its input and let htmx re-check it.
    var option = evt.target.closest ? evt.target.closest("[data-pick-value]") : null;
    if (!option) { return; }
    var input = document.getElementById(option.getAttribute("data-pick-target"));
    if (!input) { return; }
    input.value = option.getAttribute("data-pick-value");
    var list = option.closest(".picklist-box");
    if (list) { list.innerHTML = ""; }
    var search = document.getElementById(option.getAttribute("data-pick-clear") || "");
    if (search) { search.value = ""; }
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });

  // Phone menu: the button opens and closes the navigation panel.
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest ? evt.target.closest(".menu-button") : null;
    if (!button) { return; }
    var bar = button.closest(".topbar");
    var open = !bar.classList.contains("open");
    bar.classList.toggle("open", open);
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });

  // Stacked table rows on phones show each cell's column name (from the table head).
  function labelCells(root) {
    var tables = (root.querySelectorAll ? root : document).querySelectorAll("table");
    Array.prototype.forEach.call(tables, function (table) {
      var heads = table.querySelectorAll("thead th");
      if (!heads.length) { return; }
      Array.prototype.forEach.call(table.querySelectorAll("tbody tr"), function (row) {
        Array.prototype.forEach.call(row.children, function (cell, i) {
          var text = heads[i] ? heads[i].textContent.trim() : "";
          if (text && cell.tagName === "TD" && !cell.hasAttribute("colspan")) {
            cell.setAttribute("data-label", text);
          }
        });
      });
    });
  }

  // Suggestion lists follow the ARIA combobox pattern: the input keeps the focus, arrows
  // move the highlighted option, Enter picks it (never submits the form), Escape closes.
  function boxFor(input) {
    var target = input.getAttribute("hx-target");
    var box = target ? document.querySelector(target) : null;
    if (box && box.classList.contains("picklist-box")) { return box; }
    return input.id ? document.getElementById("options-" + input.id) : null;
  }
  function options(box) {
    return box ? Array.prototype.slice.call(box.querySelectorAll("[role=option]")) : [];
  }
  function setActive(input, box, index) {
    var list = options(box);
    list.forEach(function (opt, i) {
      if (!opt.id) { opt.id = box.id + "-opt-" + i; }
      opt.setAttribute("aria-selected", i === index ? "true" : "false");
      opt.tabIndex = -1;
    });
    if (index >= 0 && list[index]) {
      input.setAttribute("aria-activedescendant", list[index].id);
      list[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }
  function activeIndex(box) {
    return options(box).findIndex(function (o) { return o.getAttribute("aria-selected") === "true"; });
  }
  function enhanceComboboxes(root) {
    var inputs = (root.querySelectorAll ? root : document).querySelectorAll("input");
    Array.prototype.forEach.call(inputs, function (input) {
      var box = boxFor(input);
      if (!box || input.getAttribute("role") === "combobox") { return; }
      input.setAttribute("role", "combobox");
      input.setAttribute("aria-autocomplete", "list");
      input.setAttribute("aria-controls", box.id);
      input.setAttribute("aria-expanded", "false");
      box.setAttribute("data-combobox", input.id);
    });
  }
  document.addEventListener("keydown", function (evt) {
    var input = evt.target;
    if (!input || input.getAttribute("role") !== "combobox") { return; }
    var box = boxFor(input);
    var list = options(box);
    var index = activeIndex(box);
    if (evt.key === "ArrowDown" || evt.key === "ArrowUp") {
      if (!list.length) { return; }
      evt.preventDefault();
      var step = evt.key === "ArrowDown" ? 1 : -1;
      setActive(input, box, (index + step + list.length) % list.length);
    } else if (evt.key === "Enter") {
      evt.preventDefault();
      var pick = list[index >= 0 ? index : 0];
      if (pick) { pick.click(); }
    } else if (evt.key === "Escape" && list.length) {
      evt.preventDefault();
      box.innerHTML = "";
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }
  });
  // A mouse pick moves the focus to the option, which disappears: give it back to the input.
  document.addEventListener("click", function (evt) {
    var option = evt.target.closest ? evt.target.closest("[role=option]") : null;
    var box = option ? option.closest(".picklist-box") : null;
    var input = box ? document.getElementById(box.getAttribute("data-combobox") || "") : null;
    if (input) {
      setTimeout(function () { input.focus(); }, 0);
    }
  });
  document.addEventListener("htmx:afterSwap", function (evt) {
    var box = evt.detail.target;
    if (!box || !box.classList || !box.classList.contains("picklist-box")) { return; }
    var input = document.getElementById(box.getAttribute("data-combobox") || "");
    if (!input) { return; }
    var count = options(box).length;
    input.setAttribute("aria-expanded", count ? "true" : "false");
    setActive(input, box, count ? 0 : -1);
  });

  // A refused action whose panel was swapped in: move the reader there.
  document.addEventListener("htmx:afterSwap", function (evt) {
    var status = evt.detail.xhr ? evt.detail.xhr.status : 200;
    if (status >= 400 && status !== 422) {
      var panel = document.querySelector("#problem-panel .error-panel") || evt.detail.target;
      if (panel && panel.scrollIntoView) { panel.scrollIntoView({ block: "nearest" }); }
    }
  });

  htmx.onLoad(function (elt) {
    labelCells(elt);
    enhanceComboboxes(elt);
  });
})();
