// The customer usage page: asks /_usage/api (or wherever the page is served)
// with the key in a header, so that the key is never in a URL.
const out = document.getElementById('out');

function add(parent, tag, text) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  parent.appendChild(e);
  return e;
}

document.getElementById('ask').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  out.replaceChildren();
  const key = document.getElementById('key').value;
  const res = await fetch(location.pathname.replace(/\/$/, '') + '/api', { headers: { 'x-api-key': key } });
  if (!res.ok) {
    add(out, 'p', res.status === 429 ? 'Too many tries; wait a little.' : 'Nothing to show for this key.').className = 'error';
    return;
  }
  const body = await res.json();
  for (const plan of body.plans) {
    const section = add(out, 'section');
    section.dataset.plan = plan.id;
    add(section, 'h2', plan.name);
    const facts = add(section, 'ul');
    facts.className = 'facts';
    if (plan.throttle)
      add(facts, 'li', `Throttle: ${plan.throttle.rateLimit} requests a second, bursts of ${plan.throttle.burstLimit}`);
    if (plan.quota) {
      const q = plan.quota;
      const remaining = add(facts, 'li', `Quota: ${q.remaining} of ${q.limit} requests left this ${q.period.toLowerCase()}`);
      remaining.className = 'remaining';
      add(facts, 'li', `Resets at ${new Date(q.resetsAt).toUTCString()}`);
    }
    dailyChart(section, plan.daily, 'Requests per day, last 30 days (UTC)');
  }
});
