"""The cells' legend as HTML swatches (the live view's lattice and the run viewer's cards)."""
from __future__ import annotations

import html

import solara


@solara.component
def Legend(entries: list, classes: str = "abm-live-legend"):
    """Colour swatch, label and count of each category (lattice_image.LegendEntry), or 'no cells'."""
    with solara.Row(classes=[classes], style={"flex-wrap": "wrap", "gap": "2px 14px"}):
        if not entries:
            solara.Text("no cells")
        for entry in entries:
            swatch = (f'<span style="display:inline-block;width:11px;height:11px;margin-right:4px;'
                      f'background:{entry.colour};border:1px solid #555"></span>')
            solara.HTML(tag="span", unsafe_innerHTML=f"{swatch}{html.escape(entry.label)}: {entry.count:,}")
