"""What users see: terminal output (:mod:`~training.display.console`), progress
(:mod:`~training.display.progress`) and matplotlib figures (:mod:`~training.display.plots`)."""
