"""Components for Mesa's own SolaraViz: the lattice, a field and the populations of a TissueModel.

    from mesa.visualization import SolaraViz
    from abm import TissueModel
    from abm.view.live_params import model_params
    from abm.view.mesa_viz import components

    model = TissueModel("configs/minimal_rules.yaml")
    page = SolaraViz(model, components=components(model),
                     model_params=model_params(model.config, "configs/minimal_rules.yaml"))

Each factory returns ``(function of the model, page)``, the form `make_plot_component` returns;
SolaraViz redraws them after every step (Mesa's `update_counter`). The population plot *is*
Mesa's `make_plot_component`, on the datacollector's "type.state" reporters, in `abm plot`'s colours.
With ipyvuetify 3, SolaraViz's own component grid shows nothing in a browser: see ComponentsPanel
and docs/live.md.
"""
from __future__ import annotations

import warnings

import solara

from ..viz.plot import Categories, field_panel, field_title
from .lattice_image import LatticeImage, lattice_image, plane_of, upscale
from .legend import Legend
from .paced import drawn

with warnings.catch_warnings():  # Mesa 3.3's ComponentsView trips solara's rules-of-hooks check on import
    warnings.simplefilter("ignore", UserWarning)
    from mesa.visualization import Slider, SolaraViz, make_plot_component
    from mesa.visualization.utils import update_counter

__all__ = ["ComponentsPanel", "Slider", "SolaraViz", "components", "field_component", "field_figure",
           "lattice_component", "population_component"]  # Slider and SolaraViz: Mesa's, imported safely here


def _vuetify3_tabs_for_mesa33() -> None:
    """Mesa 3.3's SolaraViz lays out its components in Vuetify 2 tab panels (v.TabsItems,
    v.TabItem), which ipyvuetify 3 (Vuetify 3) no longer has: SolaraViz with any component fails
    with an AttributeError. Vuetify 3 names them Window and WindowItem, the names Mesa itself
    switched to after 3.3 (mesa PR #2919). Only names that are missing are added."""
    if not hasattr(solara.v, "TabsItems") and hasattr(solara.v, "Window"):
        solara.v.TabsItems, solara.v.TabItem = solara.v.Window, solara.v.WindowItem


_vuetify3_tabs_for_mesa33()


def lattice_component(axis: int = 2, index: int | None = None, page: int = 0):
    """The lattice coloured by cell type and state, with its legend and the step and time (a 3D
    lattice: the plane `index`, default the middle, normal to `axis`)."""
    def Lattice(model):
        return LatticeView(model, axis=axis, index=index)
    return Lattice, page


def field_component(axis: int = 2, index: int | None = None, page: int = 0):
    """One field at a time (a selector), with a colour bar in the field's units."""
    def Field(model):
        return FieldView(model, axis=axis, index=index)
    return Field, page


def population_component(model, page: int = 0):
    """Mesa's plot component: cells per type and state over the steps, for the types present at
    the start (a type the config does not place would only add flat zero lines)."""
    cats = Categories.of(list(model.spec.type_names), {t: list(s) for t, s in model.spec.states.items()})
    measure = {f"{cell_type}.{state}": colour for (cell_type, state), colour in zip(cats.pairs, cats.colours)
               if model.count(cell_type) > 0}
    return make_plot_component(measure, post_process=_population_axes, page=page)


def components(model) -> list:
    """Lattice, field and population components of this model, for SolaraViz(components=...)."""
    return [lattice_component(), field_component(), population_component(model)]


@solara.component
def ComponentsPanel(views: list, model):
    """`views` ((function of the model, page) pairs, as for SolaraViz) in a wrapping row of cards:
    the layout `abm view --live` uses beside `SolaraViz(model, components=[])`, because Mesa 3.3's
    own grid (solara.GridDraggable) loads a Vue 2 library (vue-grid-layout) that fails under
    ipyvuetify 3's Vue 3 page ("GlobalVue.use is not a function") and then shows nothing."""
    counter = update_counter.get()
    solara.use_effect(lambda: drawn(model), [counter, id(model)])  # after the redraw: a paced model may step
    with solara.Row(classes=["abm-live-components"], style={"flex-wrap": "wrap", "align-items": "flex-start"}):
        for make, _page in views:
            with solara.Card(style={"min-width": "440px", "max-width": "720px", "flex": "1 1 440px"}):
                make(model)


def _population_axes(ax) -> None:
    ax.set_ylabel("cells")
    ax.set_title("population by cell type and state", fontsize=10)
    if ax.get_legend() is not None:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)


def step_label(model) -> str:
    return f"step {model.steps} of {model.total_steps} · t = {model.time_min / 60:.1f} h"


def model_lattice_image(model, axis: int = 2, index: int | None = None) -> LatticeImage:
    cell_type, cell_state = model.lattice_snapshot()
    states = {name: list(values) for name, values in model.spec.states.items()}
    return lattice_image(cell_type, cell_state, list(model.spec.type_names), states, axis, index)


@solara.component
def LatticeView(model, axis: int = 2, index: int | None = None):
    update_counter.get()  # redraw after each step, also outside SolaraViz's own wrapper
    image = model_lattice_image(model, axis, index)
    with solara.Column(classes=["abm-live-lattice"], style={"gap": "4px"}):
        solara.Text(step_label(model), classes=["abm-live-step-label"], style={"font-weight": "bold"})
        if image.plane:
            solara.Text(f"cells, {image.plane}", classes=["abm-live-plane"])
        solara.Image(upscale(image.rgb), classes=["abm-live-lattice-image"])
        Legend(image.legend)


@solara.component
def FieldView(model, axis: int = 2, index: int | None = None):
    update_counter.get()
    names = list(model.fields)
    chosen, choose = solara.use_state(names[0] if names else None)
    with solara.Column(classes=["abm-live-field"]):
        if not names:
            solara.Text("This config simulates no fields.", classes=["abm-live-no-fields"])
            return
        name = chosen if chosen in names else names[0]
        solara.Select("field", values=names, value=name, on_value=choose, classes=["abm-live-field-select"])
        solara.FigureMatplotlib(field_figure(model, name, axis, index), format="png",
                                dependencies=[id(model), model.steps, name])


def field_figure(model, name: str, axis: int = 2, index: int | None = None):
    """The field's plane in mm, 0 to its maximum in viridis, with a colour bar labelled in its units
    (none where the field is zero everywhere: a note says so)."""
    from matplotlib.figure import Figure  # not pyplot: figures are drawn in the server's threads

    values, where = plane_of(model.backend.to_host(model.fields[name]), axis, index)
    fig = Figure(figsize=(4.8, 3.9), layout="constrained")
    ax = fig.add_subplot()
    field_panel(fig, ax, values, 0.0, model.config.lattice.dx_um, len(model.lattice.shape), axis,
                field_title(name, model.config.fields[name].units))
    ax.set_title(name + (f", {where}" if where else ""), fontsize=10)
    return fig
