"""One self-contained HTML page per run: samples, curves, metrics with protocols, config.

``genlab report RUN`` writes ``RUN/report.html``; every image is embedded as a data URI and the
loss curves are inline SVG, so the file can be mailed or archived on its own.
``genlab compare RUN...`` prints one table row per run.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

from genlab.config import CONFIG_FILE
from genlab.errors import CheckpointError, SampleError
from genlab.fileio import atomic_write_text, is_inside
from genlab.models.base import read_json
from genlab.train.checkpoint import list_checkpoints
from genlab.train.rundir import (CURVES, EVAL_FILE, METRICS_FILE, REPORT_FILE, is_run_directory, preview_files,
                                 read_metric_line)

CURVE_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
CURVE_TITLES = {"loss": "Losses", "penalty": "Penalties"}  # the heading of each kind of CURVES' chart
PROGRESS_GRIDS, PROGRESS_WIDTH = 6, 160  # the report's row of earlier previews: how many, and their width in pixels


def read_run(run_dir: Path) -> dict[str, Any]:
    """Config, logged records and evaluation results of a run directory."""
    run_dir = Path(run_dir)
    config_path = run_dir / CONFIG_FILE
    if not run_dir.exists():
        raise CheckpointError(f"{run_dir} does not exist; pass the --out folder of 'genlab train'.")
    if not is_run_directory(run_dir):
        what = "a checkpoint or an exported model" if config_path.is_file() else "not a run directory (no config.json)"
        raise CheckpointError(f"{run_dir} is {what}; pass the --out folder of 'genlab train'.")
    records, lines, unread = read_log(run_dir / METRICS_FILE)
    problems = []
    if unread:
        problems.append(f"{METRICS_FILE}: {unread} of its {lines} lines are not log records (damaged) and are left out "
                        "of the charts and the table.")
    evaluation = run_dir / EVAL_FILE
    try:
        scores = read_json(evaluation) if evaluation.is_file() else None
    except CheckpointError:
        raise CheckpointError(f"{evaluation} is truncated or corrupt; run 'genlab eval {run_dir}' again to rewrite "
                              "it, or delete it.") from None
    config = read_json(config_path)  # refuses anything but a JSON object
    train = config.get("train") if isinstance(config.get("train"), dict) else {}
    log_every = train.get("log_every") if isinstance(train.get("log_every"), int) and train["log_every"] > 0 else 1
    checkpoints, last_step = list_checkpoints(run_dir), records[-1]["step"] if records else 0
    if checkpoints and checkpoints[-1][0] >= last_step + log_every:  # a whole window or more never logged
        problems.append(f"{METRICS_FILE} ends at step {last_step}, but the newest checkpoint is step "
                        f"{checkpoints[-1][0]}: "
                        "the log lost the lines in between.")
    return {
        "name": run_dir.name,
        "path": run_dir,
        "config": config,
        "records": records,
        "eval": scores,
        "problems": problems,  # what the page and 'genlab report' say is wrong with the run's files
    }


def read_log(path: Path) -> tuple[list[dict[str, Any]], int, int]:
    """The log at ``path`` in one read: its records (as :func:`read_metric_records` keeps them), its
    non-blank lines and how many of those are not records; a last line cut short (a run killed, or one
    still writing) is not counted as unreadable."""
    if not path.is_file():
        return [], 0, 0
    raw = path.read_bytes()
    lines = [line for line in raw.decode("utf-8", errors="replace").splitlines() if line.strip()]
    parsed = [read_metric_line(line) for line in lines]
    unread = [i for i, record in enumerate(parsed) if record is None]
    if unread and unread[-1] == len(lines) - 1 and not raw.endswith(b"\n"):
        unread.pop()
    return [record for record in parsed if record is not None], len(lines), len(unread)


def svg_curves(records: list[dict[str, Any]], names: list[str], width: int = 640, height: int = 260) -> str:
    """Inline SVG line chart of ``names`` against step."""
    series = {n: [(r["step"], float(r[n])) for r in records if plottable(r.get(n))] for n in names}
    series = {n: points for n, points in series.items() if points}
    left_out = sum(1 for r in records for n in names if n in r and not plottable(r[n]))
    note = (f"<p>{left_out} logged value{'s' if left_out != 1 else ''} that {'are' if left_out != 1 else 'is'} "
            "NaN, infinite or not a number left out of the chart.</p>") if left_out else ""
    if not series:
        return note or "<p>No logged values yet.</p>"
    xs = [x for points in series.values() for x, _ in points]
    ys = [y for points in series.values() for _, y in points]
    # Curves of positive values spanning over two decades (TimeGAN's six losses) share a log axis,
    # where a linear one would flatten all but the largest.
    log = min(ys) > 0 and max(ys) > 100 * min(ys)
    scale = math.log10 if log else float
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y0, y1 = scale(min(ys)), scale(max(ys)) if max(ys) > min(ys) else scale(min(ys)) + 1
    pad = 40

    def to_px(x: float, y: float) -> tuple[float, float]:
        return (pad + (x - x0) / (x1 - x0) * (width - 2 * pad),
                height - pad - (scale(y) - y0) / (y1 - y0) * (height - 2 * pad))

    label = html.escape(f"{', '.join(series)} against training step{' (log scale)' if log else ''}", quote=True)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="{label}">',
             f'<rect width="{width}" height="{height}" fill="white" stroke="#ccc"/>',
             f'<text x="{pad}" y="{height - 10}" font-size="11">step {min(xs)}'
             f'{f" … {max(xs)}" if max(xs) > min(xs) else ""}{" (log scale)" if log else ""}</text>',
             f'<text x="4" y="{pad - 10}" font-size="11">{max(ys):.3g}</text>',
             f'<text x="4" y="{height - pad}" font-size="11">{min(ys):.3g}</text>']
    for i, (name, points) in enumerate(series.items()):
        colour = CURVE_COLOURS[i % len(CURVE_COLOURS)]
        pixels = [to_px(x, y) for x, y in points]
        if len(pixels) == 1:  # one logged window: a dot, as a line of one point draws nothing
            parts.append(f'<circle cx="{pixels[0][0]:.1f}" cy="{pixels[0][1]:.1f}" r="3" fill="{colour}"/>')
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in pixels)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{path}"/>')
        parts.append(f'<text x="{width - pad - 150}" y="{pad + 14 * i}" font-size="11" fill="{colour}">'
                     f'{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts) + note


def plottable(value: Any) -> bool:
    """A logged value a chart can place: a finite number (the trainer logs NaN and inf as such)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an integer beyond any float
        return False


def png_data_uri(path_or_bytes: Path | bytes) -> str:
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


INTERPOLATION_ROWS, INTERPOLATION_STEPS = 8, 10  # the report's latent walk: rows of images, images per row


def interpolation_png(run_dir: Path) -> tuple[bytes | None, str | None]:
    """(a latent interpolation grid from the run's model, or None; why there is none, where that is a
    problem of the run: weights that do not load, or samples that are not finite)."""
    import torch

    from genlab.imaging import grid_png
    from genlab.sampling import interpolation_images, load_model

    if not (run_dir / "model").is_dir() and not list_checkpoints(run_dir):  # nothing saved yet: nothing wrong
        return None, None
    try:
        model = load_model(run_dir)
    except CheckpointError as e:
        return None, f"no latent interpolation drawn: {e}"
    if not model.has_latent or not getattr(model, "is_image", True):
        return None, None
    images = interpolation_images(model, INTERPOLATION_ROWS, INTERPOLATION_STEPS, torch.Generator().manual_seed(0))
    try:
        return (grid_png(images, ncol=INTERPOLATION_STEPS) if images.dim() == 4 else None), None
    except SampleError as e:  # a diverged model: the report still shows its curves
        return None, f"no latent interpolation drawn: {e}"


def previews(run_dir: Path, suffix: str) -> list[tuple[int, Path]]:
    """The run's ``samples/step-N.<suffix>`` previews as (N, path), in step order."""
    return [(step, path) for step, path in preview_files(run_dir) if path.suffix == f".{suffix}"]


def config_field(config: dict[str, Any], section: str, key: str) -> str:
    """``config[section][key]`` as text, "?" where missing: a hand-edited config may hold anything."""
    values = config.get(section)
    return str(values.get(key, "?")) if isinstance(values, dict) else "?"


def render(run_dir: Path, problems: list[str] | None = None) -> str:
    """The run's page; what is wrong with its files is said on it and appended to ``problems``."""
    run = read_run(run_dir)
    config, records = run["config"], run["records"]
    found = problems if problems is not None else []
    found += run["problems"]
    last = records[-1] if records else {}
    samples = []
    for step, path in previews(Path(run_dir), "png"):
        if is_png(path):
            samples.append((step, path))
        else:
            found.append(f"samples/{path.name} is not a PNG file (damaged or replaced); it is not shown.")
    texts = previews(Path(run_dir), "txt")

    def field(section: str, key: str) -> str:
        return html.escape(config_field(config, section, key))

    sections = [f"<h1>genlab run {html.escape(run['name'])}</h1>",
                f"<p>{html.escape(str(config.get('family', '?')))}/{field('model', 'name')}"
                f" · {html.escape(str(last.get('step', 0)))} of {field('train', 'steps')} steps · genlab "
                f"{field('versions', 'genlab')}, torch {field('versions', 'torch')}</p>"]
    for prefix in CURVES:  # a chart for each kind: a penalty's scale is not the losses'
        names = sorted({k for r in records for k in r if k.startswith(prefix)})
        if names or prefix == CURVES[0]:  # the losses' chart says so when nothing is logged yet
            sections.append(f"<h2>{CURVE_TITLES.get(prefix, prefix.title())}</h2>" + svg_curves(records, names))
    if samples:
        step, latest = samples[-1]
        sections.append(f'<h2>Samples at step {step}</h2>'
                        f'<img alt="samples at step {step}" src="{png_data_uri(latest)}">')
        if len(samples) > 1:
            sections.append("<h3>Progress</h3>" + "".join(
                f'<figure><img alt="samples at step {step}" width="{PROGRESS_WIDTH}" src="{png_data_uri(path)}">'
                f"<figcaption>step {step}</figcaption></figure>" for step, path in samples[-PROGRESS_GRIDS:]))
    if texts:
        step, latest = texts[-1]
        sections.append(f"<h2>Text sample at step {step}</h2><pre>"
                        f"{html.escape(latest.read_text(encoding='utf-8', errors='replace'))}</pre>")
    walk, why_not = interpolation_png(Path(run_dir))
    if why_not is not None:
        found.append(why_not)
    if walk is not None:
        sections.append(f'<h2>Latent interpolation</h2><img alt="interpolation" src="{png_data_uri(walk)}">')
    sections.append("<h2>Metrics</h2>" + metrics_table(run["eval"], last))
    figures = evaluation_figures(run["eval"], Path(run_dir))
    if figures:
        sections.append("<h2>Evaluation figures</h2>" + "".join(figures))
    sections.append(f"<h2>Config</h2><pre>{html.escape(json.dumps(shortened(config), indent=2))}</pre>")
    if found:  # under the header, where a reader starts
        sections.insert(2, "<h2>Problems with this run's files</h2><ul>"
                        + "".join(f"<li>{html.escape(problem)}</li>" for problem in found) + "</ul>")
    style = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
             "figure{display:inline-block;margin:0 .5em}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}pre{background:#f6f6f6;padding:1em}")
    # The footer counts the images the browser actually decoded (a broken embed shows as missing).
    footer = ("<footer id='loaded'></footer><script>window.addEventListener('load',()=>{const all=[...document."
              "images];const ok=all.filter(i=>i.complete&&i.naturalWidth>0).length;document.getElementById('loaded')"
              ".dataset.images=ok+'/'+all.length;document.getElementById('loaded').textContent=ok+' of '+all.length+"
              "' images shown';});</script>")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>genlab {html.escape(run['name'])}</title>"
            f"<style>{style}</style></head><body>{''.join(sections)}{footer}</body></html>")


LISTED_ITEMS = 20  # a config list longer than this (a text model's vocabulary) is shown by its first items


def shortened(value: Any) -> Any:
    """``value`` (a config) with each list longer than ``LISTED_ITEMS`` cut to its first items and a
    count of the rest; the page is for reading, and config.json beside it holds everything."""
    if isinstance(value, dict):
        return {key: shortened(item) for key, item in value.items()}
    if isinstance(value, list) and len(value) > LISTED_ITEMS:
        return [shortened(item) for item in value[:LISTED_ITEMS]] + [f"... {len(value) - LISTED_ITEMS:,} more "
                                                                     "(see config.json)"]
    return value


def evaluation_figures(evaluation: dict[str, Any] | None, run_dir: Path) -> list[str]:
    """The figures ``genlab eval --plots`` drew (their paths in eval.json: relative to the run when
    inside it), embedded; one that is missing, not a PNG file or outside the run is named instead
    (eval.json may be edited, and a report is a page to send: it shows nothing from elsewhere on the disk)."""
    plots = (evaluation or {}).get("plots")
    if not isinstance(plots, dict):
        return []
    figures = []
    for name, path in plots.items():
        if name == "protocol" or not isinstance(path, str) or not path.lower().endswith(".png"):
            continue
        file = run_dir / path  # an absolute path stays itself
        if not is_inside(file, run_dir):
            figures.append(f"<p>The {html.escape(name)} figure {html.escape(path)} lies outside the run, so it is not "
                           "embedded (evaluate with --plots RUN/figures to embed it).</p>")
        elif is_png(file):  # eval.json may be edited: embed a picture, nothing else
            figures.append(f'<figure><img alt="{html.escape(name)}" src="{png_data_uri(file)}">'
                           f"<figcaption>{html.escape(path)}</figcaption></figure>")
        else:
            state = "is not a PNG file" if file.exists() else "is missing"
            figures.append(f"<p>The {html.escape(name)} figure {html.escape(path)} {state}.</p>")
    if figures and isinstance(plots.get("protocol"), str):
        figures.append(f"<p>{html.escape(plots['protocol'])}</p>")
    return figures


MAX_FIGURE_BYTES = 20_000_000


def is_png(path: Path) -> bool:
    """Whether ``path`` is a PNG file of at most ``MAX_FIGURE_BYTES`` (by its signature)."""
    try:
        if not path.is_file() or path.stat().st_size > MAX_FIGURE_BYTES:  # checked first: a FIFO would block open()
            return False
        with open(path, "rb") as f:
            return f.read(8) == b"\x89PNG\r\n\x1a\n"
    except OSError:
        return False


def eval_values(evaluation: dict[str, Any] | None, spread: bool = False) -> list[tuple[str, Any, str]]:
    """(name, value, protocol) of each number in an eval.json. Image metrics are ``{"value", "protocol",
    ...}`` each; the families' own evaluations hold numbers, ``{"mean", "std", ...}`` summaries of
    repeats and groups of named numbers, beside one shared ``"protocol"`` dict. A count out of a
    total (modes found ``of`` modes) is shown as "k/n"; with ``spread``, a value with a standard
    deviation as "mean±std" (for a table without a protocol column; no spaces, so that a table's
    columns still split on white space)."""
    if not evaluation:
        return []
    shared = shared_protocol(evaluation)
    rows = []
    for name, value in evaluation.items():
        if name == "protocol" or value is None:
            continue
        if isinstance(value, dict) and ("value" in value or "mean" in value):
            count = len(value["values"]) if isinstance(value.get("values"), list) else None
            spread_known = value.get("std") is not None  # None for a single repeat
            if spread_known:
                std = f" (std {_fmt(value['std'])}{f' over {count} repeats' if count else ''})"
            else:
                std = " (one repeat: no spread)" if count == 1 else ""
            warning = f"; warning: {value['warning']}" if "warning" in value else ""  # an image metric's own
            shown = value.get("value", value.get("mean"))
            if "of" in value:
                shown = f"{_fmt(shown)}/{_fmt(value['of'])}"
            elif spread and spread_known:
                shown = f"{_fmt(shown)}±{_fmt(value['std'])}"
            rows.append((name, shown, str(value.get("protocol", shared)) + std + warning))
        elif isinstance(value, dict) and isinstance(value.get("columns"), list) and isinstance(value.get("ratio"), list):
            # per feature (the sequence models' step_change): name=ratio pairs, with no spaces for compare's table
            shown = ";".join(f"{str(c).replace(' ', '_')}={r}" for c, r in zip(value["columns"], value["ratio"]))
            rows.append((f"{name}.ratio", shown, shared))
        elif isinstance(value, dict):  # a group: bits_per_dim {negative_elbo, nll}
            rows += [(f"{name}.{key}", v, shared) for key, v in value.items() if isinstance(v, (int, float))]
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            rows.append((name, value, shared))
    return rows


def reference_of(evaluation: dict[str, Any]) -> str | None:
    """What an evaluation was measured against: its reference data (and split, for image metrics);
    None where it does not say."""
    shared = evaluation.get("protocol")
    if isinstance(shared, dict) and "reference_data" in shared:
        return str(shared["reference_data"])
    for value in evaluation.values():  # image metrics: each holds the shared reference
        if isinstance(value, dict) and "reference_data" in value:
            return f"{value['reference_data']} ({value.get('reference_split', 'split unknown')})"
    return None


def shared_protocol(evaluation: dict[str, Any]) -> str:
    """An eval.json's protocol shared by its numbers, as one line ('' when it has none)."""
    shared = evaluation.get("protocol")
    return "; ".join(f"{k}: {v}" for k, v in shared.items()) if isinstance(shared, dict) else str(shared or "")


def protocol_lines(name: str, evaluation: dict[str, Any] | None) -> list[str]:
    """How a run's evaluation was measured: its shared protocol, and each value's own (image metrics)."""
    if not evaluation:
        return []
    shared = shared_protocol(evaluation)
    lines = [f"  {name}: {shared}"] if shared else []
    return lines + [f"  {name}, {metric}: {value['protocol']}"
                    + (f"; std {_fmt(value['std'])}" if "std" in value else "")  # KID's spread over its subsets
                    + (f"; warning: {value['warning']}" if "warning" in value else "")
                    for metric, value in evaluation.items() if isinstance(value, dict) and "protocol" in value]


def metrics_table(evaluation: dict[str, Any] | None, last: dict[str, Any]) -> str:
    rows = eval_values(evaluation)
    rows += [(k, v, f"training, {'throughput' if k == 'examples_per_s' else 'mean'} over the last logged window "
                    f"(up to step {last.get('step', '?')})") for k, v in last.items()
             if k not in ("step", "time", "warnings") and isinstance(v, (int, float)) and not isinstance(v, bool)]
    if not rows:
        return "<p>No metrics yet: run 'genlab eval RUN'.</p>"
    # The evaluation's shared protocol once, below the table, not in every row that follows it.
    shared = shared_protocol(evaluation) if evaluation else ""
    rows = [(n, v, "the evaluation's protocol, below" + p[len(shared):] if shared and p.startswith(shared) else p)
            for n, v, p in rows]  # what follows it (a spread over repeats) stays in the row
    body = "".join(f"<tr><td>{html.escape(str(n))}</td><td>{html.escape(_fmt(v))}</td><td>{html.escape(str(p))}</td>"
                   "</tr>" for n, v, p in rows)
    below = f"<p>Protocol of the evaluation: {html.escape(shared)}</p>" if shared else ""
    return f"<table><tr><th>metric</th><th>value</th><th>protocol</th></tr>{body}</table>{below}"


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def write_report(run_dir: Path, problems: list[str] | None = None) -> Path:
    """Write the run's report.html; what is wrong with the run's files is appended to ``problems``."""
    path = Path(run_dir) / REPORT_FILE
    # A run folder named by bytes that are not UTF-8 appears in the page as backslash escapes.
    atomic_write_text(path, render(Path(run_dir), problems), errors="backslashreplace")
    return path


def compare(run_dirs: list[Path]) -> str:
    """A plain-text table: one row per run, the last logged losses and penalties and the evaluation
    values; below it, how each run's evaluation values were measured (their protocols), so runs
    scored against different references or sample counts are not compared unawares."""
    runs = [read_run(Path(d)) for d in run_dirs]
    names = [run["name"] for run in runs]

    def label(run: dict[str, Any]) -> str:
        """A run's name, or its path where two of the runs share a name."""
        return str(run["path"]) if names.count(run["name"]) > 1 else run["name"]

    lasts = [run["records"][-1] if run["records"] else {} for run in runs]
    logged = list(dict.fromkeys(k for last in lasts for k in last if k.startswith(CURVES)))  # training columns
    columns: list[str] = []
    rows = []
    evaluated: dict[str, list[str | None]] = {}  # each evaluation column: the runs' reference data
    for run, last in zip(runs, lasts):
        row = {"run": label(run), "model": config_field(run["config"], "model", "name"), "step": last.get("step", 0)}
        row.update({k: v for k, v in last.items() if k.startswith(CURVES)})
        # An evaluation named like any run's training column (a transformer's held-out loss) gets its own column.
        scores = {name if name not in row and name not in logged else f"eval.{name}": value
                  for name, value, _ in eval_values(run["eval"], spread=True)}
        row.update(scores)
        for name in scores:
            evaluated.setdefault(name, []).append(reference_of(run["eval"]))
        rows.append(row)
        columns += [c for c in row if c not in columns]
    widths = {c: max(len(c), *(len(_fmt(r.get(c, ""))) for r in rows)) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    lines += ["  ".join(_fmt(r.get(c, "")).ljust(widths[c]) for c in columns) for r in rows]
    protocols = [line for run in runs for line in protocol_lines(label(run), run["eval"])]
    if logged:  # the training columns are window means, not held-out numbers
        protocols.insert(0, f"  {', '.join(logged)}: training, mean over each run's last logged window (up to its "
                            "step)")
    mixed = []  # one column name, several families: a VAE's loss is nats per image, a transformer's per token
    for name in logged:
        families = sorted({run["config"]["family"] for run, last in zip(runs, lasts)
                           if name in last and isinstance(run["config"].get("family"), str)})
        if len(families) > 1:
            mixed.append(f"  {name}: logged by runs of different families ({', '.join(families)}), each in its own "
                         "units and terms: not comparable across them")
    protocols[1:1] = mixed
    # Scores against other data are other quantities (an evaluation that does not say is not counted).
    apart = {name: stated for name, references in evaluated.items()
             if len(stated := list(dict.fromkeys(r for r in references if r is not None))) > 1}
    for stated in dict.fromkeys(tuple(s) for s in apart.values()):
        names = [name for name, s in apart.items() if tuple(s) == stated]
        protocols.insert(len(mixed) + bool(logged), f"  {', '.join(names)}: scored against different reference data "
                                                      f"across runs ({'; '.join(stated)}): not comparable across them")
    if protocols:
        lines += ["", "protocols:", *protocols]
    return "\n".join(lines)
