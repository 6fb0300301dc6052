// Appended to a copy of the demo's report.html by tests/test_report_layout.sh and run by headless
// Chromium at 1280 px: checks the layout of every figure and writes the findings into the DOM
// (a pre element with id layout-result), which the script reads back with --dump-dom.
(function () {
  var out = [], panels = 0, texts = 0, points = 0;
  function overlap(a, b) {
    var w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
    var h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    return w > 0.5 && h > 0.5;
  }
  document.querySelectorAll('.figure').forEach(function (fig) {
    var sec = fig.closest('section').id;
    fig.querySelectorAll('svg.panel').forEach(function (svg, k) {
      var where = sec + ' panel ' + (k + 1), r = svg.getBoundingClientRect(), i, j;
      panels++;
      if (r.width < 420) out.push('NARROW ' + where + ': ' + r.width.toFixed(0) + ' px');
      if (r.right > document.documentElement.clientWidth + 0.5) out.push('CUT ' + where + ': right edge at ' + r.right.toFixed(0));
      var t = Array.prototype.map.call(svg.querySelectorAll('text'), function (e) {
        return [e.textContent, e.getBoundingClientRect()];
      });
      texts += t.length;
      for (i = 0; i < t.length; i++) {
        if (t[i][1].left < r.left - 0.5 || t[i][1].right > r.right + 0.5 || t[i][1].top < r.top - 0.5 || t[i][1].bottom > r.bottom + 0.5)
          out.push('TEXT OUTSIDE ' + where + ': "' + t[i][0] + '"');
        for (j = i + 1; j < t.length; j++)
          if (overlap(t[i][1], t[j][1])) out.push('OVERLAP ' + where + ': "' + t[i][0] + '" and "' + t[j][0] + '"');
      }
      var frame = svg.querySelector('rect[stroke="#333"]').getBoundingClientRect();
      svg.querySelectorAll('g.series circle').forEach(function (c) {
        var b = c.getBoundingClientRect();
        points++;
        if (b.left < frame.left - 0.5 || b.right > frame.right + 0.5 || b.top < frame.top - 0.5 || b.bottom > frame.bottom + 0.5)
          out.push('POINT OUTSIDE ' + where + ' (' + c.closest('g.series').getAttribute('data-name') + ')');
      });
    });
  });
  var pre = document.createElement('pre');
  pre.id = 'layout-result';
  pre.textContent = out.join('\n') + '\nPANELS ' + panels + ' TEXTS ' + texts + ' POINTS ' + points + '\nLAYOUT DONE\n';
  document.body.appendChild(pre);
})();
