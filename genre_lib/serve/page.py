"""The upload page of the prediction service: one HTML document, no external resources.

The page sends the chosen file to ``POST predict`` and draws the answer as a bar chart of
probabilities; the player plays the file from the browser's memory (nothing is kept on the
server). Files over the upload limit are refused before they are sent.

Notebook: none directly; the upload page of the service :class:`genre_lib.serve.Service` starts.
"""
from __future__ import annotations

import html
import json
from string import Template

_PAGE = Template("""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Genre of a song</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem;
         color: #1d232a; }
  h1 { font-size: 1.5rem; margin-bottom: .2rem; }
  .note { color: #58616b; font-size: .9rem; margin-top: 0; }
  form { display: flex; gap: .6rem; align-items: center; margin: 1.2rem 0; flex-wrap: wrap; }
  button { padding: .45rem 1.1rem; font-size: 1rem; cursor: pointer; }
  #status { min-height: 1.4rem; }
  #status.problem { color: #a4161a; font-weight: 600; }
  audio { width: 100%; margin: .4rem 0 1rem; }
  #answer { font-size: 1.35rem; margin: .2rem 0 .8rem; }
  .row { display: grid; grid-template-columns: 9rem 1fr 4.2rem; gap: .5rem; align-items: center;
         margin: .2rem 0; }
  .label { text-align: right; }
  .track { background: #eef1f4; height: 1.1rem; border-radius: 3px; }
  .bar { background: #3a7bd5; height: 100%; border-radius: 3px; }
  .row.best .bar { background: #e07a1f; }
  .value { font-variant-numeric: tabular-nums; }
  #details { color: #58616b; font-size: .85rem; margin-top: .8rem; }
</style>
</head>
<body>
<h1>What genre is this song?</h1>
<p class="note">Model <b>$model</b> ($label) &middot; $target &middot; files up to $max_mb MB and
$max_seconds s of audio; WAV, FLAC, OGG or MP3.</p>
<form id="form">
  <input type="file" id="file" name="file" accept="audio/*,.wav,.flac,.ogg,.mp3,.au">
  <button type="submit" id="send">Predict</button>
</form>
<div id="status" role="status"></div>
<audio id="player" controls hidden></audio>
<section id="result" hidden>
  <div id="answer"></div>
  <div id="chart"></div>
  <div id="details"></div>
</section>
<script>
const MAX_BYTES = $max_bytes;
const form = document.getElementById("form"), input = document.getElementById("file");
const statusLine = document.getElementById("status"), player = document.getElementById("player");
const result = document.getElementById("result");

function say(text, problem) {
  statusLine.textContent = text;
  statusLine.className = problem ? "problem" : "";
}

function draw(body) {
  if (body.message) {  // silent, or too short: the model was not asked
    document.getElementById("answer").textContent = "No answer: " + body.message + ".";
    document.getElementById("chart").replaceChildren();
    document.getElementById("details").textContent =
      body.duration_s.toFixed(2) + " s of audio; model " + body.model + ".";
    result.hidden = false;
    return;
  }
  const entries = Object.entries(body.probabilities);
  const best = body.target === "genre" ? body.genre : null;
  document.getElementById("answer").textContent = best
    ? "Genre: " + best + " (" + (100 * entries[0][1]).toFixed(1) + " %)"
    : "Tags: " + (body.tags.length ? body.tags.join(", ") : "none above 50 %");
  const chart = document.getElementById("chart");
  chart.replaceChildren();
  for (const [label, p] of entries) {
    const row = document.createElement("div");
    row.className = "row" + (label === entries[0][0] ? " best" : "");
    row.dataset.label = label;
    const name = document.createElement("span");
    name.className = "label"; name.textContent = label;
    const track = document.createElement("div");
    track.className = "track";
    const bar = document.createElement("div");
    bar.className = "bar"; bar.style.width = (100 * p).toFixed(1) + "%";
    track.appendChild(bar);
    const value = document.createElement("span");
    value.className = "value"; value.textContent = (100 * p).toFixed(1) + " %";
    row.append(name, track, value);
    chart.appendChild(row);
  }
  document.getElementById("details").textContent =
    body.analysed_s.toFixed(1) + " s of " + body.duration_s.toFixed(1) + " s analysed in " +
    body.chunks + " chunks by " + body.model + ", answered in " + body.seconds_taken.toFixed(2) +
    " s (real-time factor " + (body.real_time_factor ?? 0).toFixed(3) + ").";
  result.hidden = false;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  result.hidden = true;
  const file = input.files[0];
  if (!file) { say("Choose an audio file first.", true); return; }
  if (file.size > MAX_BYTES) {
    say("This file is " + (file.size / 1e6).toFixed(1) + " MB; the service takes files up to " +
        (MAX_BYTES / 1e6).toFixed(0) + " MB.", true);
    return;
  }
  if (player.src) URL.revokeObjectURL(player.src);
  player.src = URL.createObjectURL(file);
  player.hidden = false;
  say("Analysing " + file.name + " ...", false);
  const data = new FormData();
  data.append("file", file);
  try {
    const response = await fetch("predict", { method: "POST", body: data });
    const body = await response.json().catch(() => ({ detail: response.statusText }));
    if (!response.ok) {
      const detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
      say(detail + " (HTTP " + response.status + ")", true);
      return;
    }
    say(file.name, false);
    draw(body);
  } catch (problem) {
    say("The service did not answer: " + problem, true);
  }
});
</script>
</body>
</html>
""")


def render(description: dict, max_mb: float, max_seconds: float) -> str:
    """The page for a model (:meth:`Predictor.describe`) and the service's limits."""
    target = "predicts one genre" if description["target"] == "genre" else "predicts tags"
    return _PAGE.substitute(
        model=html.escape(str(description["model"])),
        label=html.escape(str(description.get("label") or description.get("arch") or "")),
        target=target, max_mb=f"{max_mb:g}", max_seconds=f"{max_seconds:g}",
        max_bytes=json.dumps(int(max_mb * 1_000_000)))


__all__ = ["render"]
