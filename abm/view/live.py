"""`abm view --live CONFIG`: the config's model in Mesa's own SolaraViz page, served by Solara.

The page is `SolaraViz(model, components=..., model_params=...)` with our components
(abm/view/mesa_viz.py): Mesa's Step, play/pause and Reset buttons, sliders for the config's key
parameters and the seed (abm/view/live_params.py), the lattice with its legend, a field with its
colour bar, the populations. Reset rebuilds the model as ``TissueModel(config=FILE, **sliders)``:
dotted slider names are config overrides. Each browser session renders its own `Page`, so it
builds its own model (solara keeps component state per session).
"""
from __future__ import annotations

import os

import solara

from ..core.model import TissueModel
from .live_params import config_value, model_params
from .mesa_viz import ComponentsPanel, Slider, SolaraViz, components
from .paced import pace

CONFIG_ENV = "ABM_LIVE_CONFIG"  # the served config file: the Solara app reads it in each session
APP = "abm.view.live:Page"
# Mesa's sliders (the sidebar) show their value only while dragged, and a long label squeezes the
# track to a stub. Each label goes on its own line above a full-width track, and Vuetify's own
# value label (a bubble, hidden unless dragged) stays shown as plain text under the thumb.
CSS = """
.v-navigation-drawer .v-slider.v-input--horizontal { display: flex; flex-wrap: wrap; margin-bottom: 12px; }
.v-navigation-drawer .v-slider .v-input__prepend { width: 100%; margin: 0 0 -8px 0; }
.v-navigation-drawer .v-slider .v-input__control { flex: 1 1 100%; width: 100%; }
.v-navigation-drawer .v-slider-thumb__label-container { display: block !important; }
.v-navigation-drawer .v-slider-thumb__label { background: transparent !important; color: #333 !important;
  font-size: 11px; height: auto; min-width: 0; padding: 0; transform: translateX(-50%) !important;
  bottom: auto !important; top: 16px; left: 0 !important; }
.v-navigation-drawer .v-slider-thumb__label-wedge { display: none; }
"""


@solara.component
def Page():
    """The served page: this session's own model of the served config."""
    path = os.environ.get(CONFIG_ENV)
    model = solara.use_reactive(solara.use_memo(lambda: TissueModel(path) if path else None, []))
    if model.value is None:
        solara.Error(f"no config to run: serve this page with 'abm view --live CONFIG' (or set {CONFIG_ENV})")
        return
    LivePage(model, path)


@solara.component
def LivePage(model: solara.Reactive, path: str, device: str | None = None):
    """SolaraViz on `model` (a reactive TissueModel: Reset replaces its value) of config `path`."""
    current = model.value
    solara.use_memo(lambda: pace(current), [id(current)])  # play waits for each redraw (Reset: a new model)
    params = solara.use_memo(lambda: model_params(current.config, path, device), [path, device])
    labels = {key: value.label for key, value in params.items() if isinstance(value, Slider)}
    views = solara.use_memo(lambda: [*components(current), (lambda m: ParametersView(m, labels), 0)], [path])
    solara.Style(CSS)
    # components=[]: SolaraViz's own component grid does not load under ipyvuetify 3 (see ComponentsPanel)
    SolaraViz(model, components=[], model_params=params, name=f"{current.config.name} (live)", play_interval=50)
    ComponentsPanel(views, current)


@solara.component
def ParametersView(model: TissueModel, labels: dict[str, str]):
    """The slider parameters' values in the model on screen (the sliders take effect on Reset), by
    their sliders' labels (with units); keys: config override keys."""
    with solara.Column(classes=["abm-live-parameters"], style={"gap": "0px"}):
        solara.Text("this model's parameters (sliders apply on Reset)", style={"font-weight": "bold"})
        for key, label in labels.items():
            value = model.seed if key == "seed" else config_value(model.config, key)
            solara.Text(f"{label} = {value:g}", classes=[f"abm-live-param-{key.replace('.', '-')}"])


def serve_live(config: str, host: str = "127.0.0.1", port: int = 8765, open_browser: bool = True) -> int:
    """Check the config (a bad one is a one-line AbmError, before anything listens), print the
    URL, serve until Ctrl-C."""
    from .app import serve

    TissueModel(config)  # builds it once: schema, overrides, placement and memory checks
    os.environ[CONFIG_ENV] = str(config)
    return serve(APP, f"live model of {config}", host, port, open_browser)
