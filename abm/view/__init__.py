"""`abm view`: runs in the browser (a Solara app), and live models the Mesa SolaraViz way."""
