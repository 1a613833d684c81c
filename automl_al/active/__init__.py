"""Active learning: acquisition math, pool scoring, selection, oracles and the loop."""
