"""The engine: one event loop for replay, paper and live; the continuous-learning controller."""
