"""Evaluation: perturbation metrics (GEARS/cell-eval definitions), the baselines, scoring of
models over splits and seeds, tables and figures, and planted-edge recovery scores."""
