// MathJax for pymdownx.arithmatex (generic mode), as Material for MkDocs recommends.
window.MathJax = {
  loader: { load: ["ui/safe"] },  // defence in depth: MathJax drops unsafe links, styles, ids
  tex: { inlineMath: [["\\(", "\\)"]], displayMath: [["\\[", "\\]"]], processEscapes: true, processEnvironments: true },
  options: { ignoreHtmlClass: ".*|", processHtmlClass: "arithmatex" },
};
document$.subscribe(() => {
  if (!window.MathJax.startup) return; // MathJax not loaded (offline preview)
  MathJax.startup.output.clearCache();
  MathJax.typesetClear();
  MathJax.texReset();
  MathJax.typesetPromise();
});
