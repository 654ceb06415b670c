"""Charts of the reports, drawn by Plotly (plotly.js, shipped in the plotly package and copied beside
the pages, so they render with no network): interactive time axes with zoom, hover values and
toggled series, which a report read every day needs more than static images."""

from __future__ import annotations

import html
import shutil
from datetime import datetime
from pathlib import Path

import plotly.io as pio  # at import: runs and the scheduler import this module ahead, on a thread or preloaded

PLOTLY_JS = "plotly.min.js"
HEIGHT = 300
BASE_LAYOUT = {
    "height": HEIGHT,
    "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
    "font": {"size": 12},
    "legend": {"orientation": "h", "y": -0.2},
    "hovermode": "x unified",
}
CONFIG = {"displayModeBar": False, "responsive": True}  # drag to zoom, double-click to reset; no toolbar over the bars


def install_plotly(target_dir: Path) -> str:
    """Copy plotly.js beside the pages (once per plotly version); returns its file name."""
    import plotly
    from plotly.offline import get_plotlyjs_version

    source = Path(plotly.__file__).parent / "package_data" / PLOTLY_JS
    target = target_dir / PLOTLY_JS
    stamp = target_dir / (PLOTLY_JS + ".version")
    version = get_plotlyjs_version()
    if not target.exists() or not stamp.exists() or stamp.read_text() != version:
        partial = target.with_name(target.name + ".tmp")
        shutil.copyfile(source, partial)
        partial.replace(target)
        stamp.write_text(version)
    return PLOTLY_JS


# The few settings of plotly's "plotly_white" template the charts use; the whole template would add
# 7 KB to every chart of every page.
AXIS = {"gridcolor": "#EBF0F8", "linecolor": "#EBF0F8", "zerolinecolor": "#EBF0F8", "automargin": True}
TEMPLATE = {"layout": {
    "colorway": ["#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692", "#B6E880", "#FF97FF", "#FECB52"],
    "plot_bgcolor": "white", "paper_bgcolor": "white", "font": {"color": "#2a3f5f"}, "xaxis": AXIS, "yaxis": AXIS,
}}


def figure(div_id: str, data: list[dict], layout: dict) -> str:
    """A chart as an HTML fragment (the page loads plotly.js once). Specs are plain dicts: building
    graph objects would validate every trace at several times the cost."""
    spec = {"data": data, "layout": {"template": TEMPLATE, **BASE_LAYOUT, **layout}}
    fragment = pio.to_html(spec, include_plotlyjs=False, full_html=False, div_id=div_id, validate=False, config=CONFIG,
                           default_height=f"{layout.get('height', HEIGHT)}px")
    return f"<figure class='chart' data-chart='{html.escape(div_id)}'>{fragment}</figure>"


def empty(title: str) -> str:
    return f"<figure class='chart empty'><figcaption>{html.escape(title)}</figcaption><p>nothing yet</p></figure>"


def _short(label: str, limit: int = 48) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def bars(div_id: str, title: str, rows: list[tuple[str, int | float]], x_title: str = "") -> str:
    """Horizontal bars, largest first; long labels are shortened on the axis and whole on hover."""
    if not rows:
        return empty(title)
    labels = [str(label) for label, _ in rows][::-1]
    values = [value for _, value in rows][::-1]
    data = [{
        "type": "bar", "orientation": "h", "x": values, "y": [_short(label) for label in labels],
        "customdata": labels, "hovertemplate": "%{customdata}: %{x}<extra></extra>", "marker": {"color": "#3b6ea5"},
        "text": values, "textposition": "outside", "cliponaxis": False, "textangle": 0,
    }]
    layout = {"title": {"text": title, "x": 0.01}, "height": max(160, 60 + 24 * len(rows)), "hovermode": "closest",
              "yaxis": {"automargin": True}, "xaxis": {"title": {"text": x_title}}}
    return figure(div_id, data, layout)


def over_time(div_id: str, title: str, series: dict[str, tuple[list[datetime], list]], y_title: str = "",
              percent: bool = False, kind: str = "lines", stacked: bool = False) -> str:
    """One trace per series on a time axis (runs are points in time, not categories)."""
    if not any(y is not None for _, ys in series.values() for y in ys):
        return empty(title)
    data = []
    for name, (xs, ys) in series.items():
        trace = {"name": name, "x": [x.isoformat() for x in xs], "y": ys}
        if kind == "bars":
            trace["type"] = "bar"
        else:
            trace.update(type="scatter", mode="lines+markers", marker={"size": 5}, connectgaps=False)
            if stacked:
                trace["stackgroup"] = "one"
        data.append(trace)
    yaxis = {"title": {"text": y_title}, "rangemode": "tozero"}
    if percent:
        yaxis["tickformat"] = ".0%"
    layout = {"title": {"text": title, "x": 0.01}, "xaxis": {"type": "date"}, "yaxis": yaxis}
    if kind == "bars":
        layout["barmode"] = "stack"
    return figure(div_id, data, layout)
