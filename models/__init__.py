"""Forecasters, baselines and the MLflow pyfunc bundling the whole chain."""
