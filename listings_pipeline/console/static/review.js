// Review page: "All on this page" ticks every row that can still be decided.
document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("select-all");
  if (!all) return;
  const rows = () => document.querySelectorAll("input.row-select:not(:disabled)");
  all.addEventListener("change", () => rows().forEach((box) => { box.checked = all.checked; }));
});
