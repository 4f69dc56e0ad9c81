"""Which registered version is ``champion``: the gate rule and its evidence.

:mod:`~training.promotion.gate` (the rule and the decision), :mod:`~training.promotion.checks`
(what blocks a broken model), :mod:`~training.promotion.champion` (the champion's record and
its forecasts on a candidate's data), :mod:`~training.promotion.origin` (the tuning study
behind a configuration), :mod:`~training.promotion.lock` (one promotion at a time) and
:mod:`~training.promotion.advisory` (its PostgreSQL lock for remote stores).
"""
