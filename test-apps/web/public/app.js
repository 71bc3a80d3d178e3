// The page's script: it starts tasks with a POST and learns about everything else (counters,
// colours, failures) from the server's event stream, so every open page shows the same.
'use strict';

(() => {
  const GRID_SIZE = 50;
  const COLOUR = /^#[0-9a-f]{6}$/;
  const $ = (id) => document.getElementById(id);

  function showStatus(status) {
    $('pending').textContent = String(status.pending);
    $('runners').textContent = String(status.runners);
  }

  // Light colours get dark text on the big panel, following the WCAG relative luminance.
  function isLight(colour) {
    const [r, g, b] = [1, 3, 5].map((i) => {
      const c = parseInt(colour.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.4;
  }

  function tile(row) {
    const item = document.createElement('li');
    item.className = 'tile';
    item.style.backgroundColor = row.colour;
    item.dataset.colour = row.colour;
    item.dataset.runner = row.runner;
    item.title = `${row.colour} from ${row.runner} in ${row.ms} ms`;
    return item;
  }

  function showLatest(row) {
    const panel = $('latest');
    panel.style.backgroundColor = row.colour;
    panel.dataset.empty = 'false';
    panel.dataset.colour = row.colour;
    panel.dataset.runner = row.runner;
    panel.dataset.darkText = String(isLight(row.colour));
    $('latest-colour').textContent = row.colour;
    $('latest-runner').textContent = `painted by runner ${row.runner}`;
  }

  function addColour(row) {
    if (!COLOUR.test(row.colour)) return;
    const grid = $('grid');
    grid.prepend(tile(row));
    while (grid.children.length > GRID_SIZE) grid.lastElementChild.remove();
    showLatest(row);
  }

  function showError(text) {
    $('error-text').textContent = text;
    $('error').hidden = false;
  }

  function connect() {
    const events = new EventSource('/events');
    const live = $('live');

    events.addEventListener('open', () => {
      live.dataset.state = 'live';
      live.textContent = 'live';
    });
    // EventSource reconnects by itself; the label just says so meanwhile.
    events.addEventListener('error', () => {
      live.dataset.state = 'down';
      live.textContent = 'reconnecting…';
    });
    events.addEventListener('snapshot', (event) => {
      const snapshot = JSON.parse(event.data);
      showStatus(snapshot);
      const rows = snapshot.recent.filter((row) => COLOUR.test(row.colour));
      $('grid').replaceChildren(...rows.map(tile));
      if (rows.length > 0) showLatest(rows[0]);
    });
    events.addEventListener('status', (event) => showStatus(JSON.parse(event.data)));
    events.addEventListener('colour', (event) => addColour(JSON.parse(event.data)));
    events.addEventListener('failure', (event) => {
      const failure = JSON.parse(event.data);
      showError(`Task #${failure.job} failed: ${failure.message} (${failure.code})`);
    });
  }

  async function spawn(fail) {
    try {
      const response = await fetch(fail ? '/tasks?fail=1' : '/tasks', { method: 'POST' });
      if (response.status !== 202) {
        showError(`The server refused the task: ${response.status} ${await response.text()}`);
      }
    } catch (error) {
      showError(`Could not reach the server: ${error.message}`);
    }
  }

  $('spawn').addEventListener('click', () => spawn(false));
  $('spawn-fail').addEventListener('click', () => spawn(true));
  $('error-dismiss').addEventListener('click', () => ($('error').hidden = true));
  connect();
})();
