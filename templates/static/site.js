/* backrank: sortable headers and filters for the ranking tables. The tables work without it. */
(function () {
  "use strict";

  function cellValue(row, index, type) {
    var cell = row.cells[index];
    var raw = cell ? cell.getAttribute("data-sort") || "" : "";
    if (type === "number") return raw === "" ? null : parseFloat(raw);
    return raw.toLowerCase();
  }

  function sortTable(table, index, type, direction) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index, type), y = cellValue(b, index, type);
      if (x === null && y === null) return 0;
      if (x === null) return 1;  // unknown values last, whichever the direction
      if (y === null) return -1;
      var order = x < y ? -1 : x > y ? 1 : 0;
      return direction === "ascending" ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function makeSortable(table) {
    var headers = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(headers, function (th, index) {
      var type = th.getAttribute("data-sort-type");
      if (!type) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", function () {
        var current = th.getAttribute("aria-sort");
        var next = current === "ascending" ? "descending" : "ascending";
        Array.prototype.forEach.call(headers, function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", next);
        sortTable(table, index, type, next);
      });
    });
  }

  var GRADES = "ABCDF";

  function applyFilters(form, table) {
    var category = form.elements.category.value;
    var min = parseFloat(form.elements.min.value);
    var max = parseFloat(form.elements.max.value);
    var grade = form.elements.grade ? form.elements.grade.value : "";
    var shown = 0;
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
      var price = row.getAttribute("data-price");
      var value = price === "" ? null : parseFloat(price);
      var rowGrade = row.getAttribute("data-grade");
      var ok = (!category || row.getAttribute("data-category") === category) &&
        (isNaN(min) || (value !== null && value >= min)) &&
        (isNaN(max) || (value !== null && value <= max)) &&
        (!grade || (rowGrade !== "" && GRADES.indexOf(rowGrade) <= GRADES.indexOf(grade)));
      row.hidden = !ok;
      if (ok) shown += 1;
    });
    var status = form.querySelector("[role=status]");
    if (status) status.textContent = shown + (shown === 1 ? " product" : " products");
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("table[data-sortable]"), makeSortable);
    var form = document.getElementById("filters");
    var table = document.getElementById("ranking-all");
    if (form && table) {
      form.hidden = false;
      form.addEventListener("input", function () { applyFilters(form, table); });
      form.addEventListener("submit", function (event) { event.preventDefault(); });
    }
  });
})();
