"""The recovery model: how likely a denial is to be recovered, and why.

`features` (what is known when a denial arrives, and the practice's outcomes), `priors`
(documented cold-start rates and their shrinkage), `model` (the calibrated scikit-learn
pipeline and its skops files), `evaluate` (time-split metrics and dollars), `recovery`
(train, evaluate, score). Nothing here imports Flask.
"""
