"""lmf workbench terminal UI."""
