"""Testing the thesis with the trained chain: lead-lag evidence (:mod:`~training.thesis.leadlag`),
today's state (:mod:`~training.thesis.now`) and the shareable HTML report
(:mod:`~training.thesis.report`). Not training, but it shares training's plumbing (MLflow
reads, plots, the console): see docs/decisions.md."""
