"""The bytewax dataflows (monitor, replay, evaluate) and the command-line interface."""
