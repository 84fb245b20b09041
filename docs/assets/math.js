// Typesets every formula that pymdownx.arithmatex marked (class "arithmatex") with the KaTeX shipped in
// assets/katex: \( .. \) inline, \[ .. \] and \begin{..} .. \end{..} displayed.  A formula KaTeX cannot
// parse is reported on the console as an error and marked "math-error" (the browser check fails on both).
(function () {
  function typeset(root) {
    root.querySelectorAll(".arithmatex").forEach(function (el) {
      if (el.dataset.typeset) return;
      var tex = el.textContent.trim(), display = el.tagName === "DIV";
      if (tex.startsWith("\\(") && tex.endsWith("\\)")) { tex = tex.slice(2, -2); display = false; }
      else if (tex.startsWith("\\[") && tex.endsWith("\\]")) { tex = tex.slice(2, -2); display = true; }
      try {
        katex.render(tex, el, { displayMode: display, throwOnError: true, strict: "ignore", trust: false });
        el.dataset.typeset = "1";
      } catch (e) {
        el.classList.add("math-error");
        console.error("KaTeX: " + e.message + " in: " + tex.slice(0, 200));
      }
    });
  }
  if (typeof document$ !== "undefined") { document$.subscribe(function (d) { typeset(d.body || document.body); }); }
  else { document.addEventListener("DOMContentLoaded", function () { typeset(document.body); }); }
})();
