"""Jobs with side effects: training, evaluation, tracking, registry, explanations and the CLI."""
