// A bar chart of requests per day: `days` is [{date: "yyyy-MM-dd", used}].
function dailyChart(parent, days, title) {
  const holder = document.createElement('div');
  holder.className = 'chart';
  parent.appendChild(holder);
  const xs = days.map(d => Date.parse(d.date + 'T00:00:00Z') / 1000);
  const ys = days.map(d => d.used);
  return new uPlot({
    title,
    width: Math.min(900, parent.clientWidth || 700),
    height: 220,
    // Half a day either side, so the first and last bars show whole.
    scales: { x: { time: true, range: (u, min, max) => [min - 43200, max + 43200] },
              y: { range: (u, min, max) => [0, Math.max(1, max)] } },
    series: [{}, { label: 'requests', stroke: '#2a7', fill: 'rgba(34,170,119,0.25)',
                   paths: uPlot.paths.bars({ size: [0.8, 40] }) }],
    axes: [{}, { label: 'requests / day' }],
  }, [xs, ys], holder);
}
