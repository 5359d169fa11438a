"""The estimation backtest a user runs on their own exported history (``effort bench estimation``).

``tasks_csv`` reads and validates TASKS.csv; ``runner`` splits by date, fits the estimator on the past,
predicts the held-out tasks with their actual hours hidden and writes OUT.csv; ``metrics`` scores tasks,
project-month and project totals; ``approver`` measures learning from a simulated approver;
``headroom`` gives hindsight bounds; ``report`` renders the Markdown report. Product code: it never
imports ``evals/`` (the developer benchmarks there call it instead).
"""
