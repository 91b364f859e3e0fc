"""Widgets of the workbench, one module each; styles use theme variables only."""
