// Lines of requests per second by outcome, one point a minute: `minutes` is
// [{start (epoch s), seconds, allowed, throttled, quotaExceeded}], the last
// minute `seconds` long so far.
function outcomeChart(parent, minutes, title) {
  const holder = document.createElement('div');
  holder.className = 'chart';
  parent.appendChild(holder);
  const rate = (key) => minutes.map(m => m[key] / Math.max(1, m.seconds));
  const line = (label, stroke) => ({ label, stroke, width: 2, value: (u, v) => v === null ? '' : v.toFixed(2) });
  return new uPlot({
    title,
    width: Math.min(900, parent.clientWidth || 700),
    height: 220,
    scales: { y: { range: (u, min, max) => [0, Math.max(1, max)] } },
    series: [{}, line('allowed', '#2a7'), line('throttled', '#e90'), line('quota exceeded', '#d33')],
    axes: [{}, { label: 'requests / s' }],
  }, [minutes.map(m => m.start), rate('allowed'), rate('throttled'), rate('quotaExceeded')], holder);
}
